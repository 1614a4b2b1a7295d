"""Class-oriented soft labels from the frozen ImageNet teacher (semantic knowledge preservation).

Before training, the pretrained ImageNet network (the teacher, never trained) looks at every
photo of each training class; ``softmax(logits / T)`` averaged over a class's photos is that
class's soft label, a 1000-d distribution over ImageNet classes. During training the student's
ImageNet head is pulled towards the soft label of its sample's class, for sketches and photos
alike. The labels are computed once and cached under ``paths.cache_dir()/teacher``, keyed by the
dataset fingerprint, the class list, the backbone, its weights file, the temperature and the
input size.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from zssbir_core import paths
from zssbir_core.atomic import atomic_path
from zssbir_core.data.domains import PHOTO
from zssbir_core.data.folder import FolderDataset
from zssbir_core.errors import DatasetError

CACHE_VERSION = 1
ProgressCallback = Callable[[int, int], None]


def _weights_id(weights: str | Path | None) -> str:
    if weights is None:
        return "default"
    path = Path(weights)
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def soft_label_cache_key(
    dataset: FolderDataset, *, backbone: str, weights: str | Path | None, temperature: float, image_size: int
) -> str:
    """The cache file name stem for these soft labels."""
    recipe = {
        "version": CACHE_VERSION,
        "fingerprint": dataset.fingerprint(),
        "classes": list(dataset.classes),
        "backbone": backbone,
        "weights": _weights_id(weights),
        "temperature": float(temperature),
        "image_size": int(image_size),
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:32]


@torch.inference_mode()
def compute_class_soft_labels(
    dataset: FolderDataset,
    *,
    backbone: str,
    weights: str | Path | None = None,
    temperature: float,
    image_size: int,
    device: torch.device,
    batch_size: int = 64,
    num_workers: int = 0,
    progress: ProgressCallback | None = None,
) -> torch.Tensor:
    """(C, 1000) float32: per class, the mean of ``softmax(teacher_logits / T)`` over its photos."""
    from zssbir_core.data.image_dataset import ImageDataset
    from zssbir_core.models.backbones import build_backbone

    photos = dataset.photos()
    photo_labels = torch.tensor([s.label for s in photos], dtype=torch.long)
    per_class = torch.bincount(photo_labels, minlength=len(dataset.classes))
    empty = [dataset.classes[i] for i in range(len(dataset.classes)) if per_class[i] == 0]
    if empty:
        raise DatasetError(f"the teacher needs photos of every class; none found for: {', '.join(empty)}")
    teacher = build_backbone(backbone, weights=weights).to(device).eval()
    preprocessing = teacher.preprocessing.with_size(image_size)
    loader = torch.utils.data.DataLoader(
        ImageDataset(photos, {PHOTO: preprocessing.transform()}, target_size=image_size),
        batch_size=batch_size,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
    )
    sums = torch.zeros(len(dataset.classes), 1000, dtype=torch.float64)
    done = 0
    for images, labels, _domains in loader:
        logits = teacher(images.to(device)).float()
        probabilities = torch.softmax(logits / temperature, dim=1).double().cpu()
        sums.index_add_(0, labels.long(), probabilities)
        done += len(labels)
        if progress is not None:
            progress(done, len(photos))
    return (sums / per_class[:, None].double()).float()


def class_soft_labels(
    dataset: FolderDataset,
    *,
    backbone: str,
    weights: str | Path | None = None,
    temperature: float,
    image_size: int,
    device: torch.device,
    cache_dir: Path | None = None,
    num_workers: int = 0,
    progress: ProgressCallback | None = None,
) -> torch.Tensor:
    """The class soft labels of ``dataset``, from the cache when it holds them, else computed and cached."""
    folder = (cache_dir or paths.cache_dir()) / "teacher"
    key = soft_label_cache_key(
        dataset, backbone=backbone, weights=weights, temperature=temperature, image_size=image_size
    )
    path = folder / f"{key}.safetensors"
    if path.is_file():
        try:
            labels = load_file(str(path))["soft_labels"]
            if labels.shape == (len(dataset.classes), 1000):
                return labels
        except (OSError, KeyError, RuntimeError, ValueError, SafetensorError):
            pass  # a damaged cache file is rebuilt below
    labels = compute_class_soft_labels(
        dataset,
        backbone=backbone,
        weights=weights,
        temperature=temperature,
        image_size=image_size,
        device=device,
        num_workers=num_workers,
        progress=progress,
    )
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        save_file({"soft_labels": labels.contiguous()}, str(temp), metadata={"classes": json.dumps(dataset.classes)})
    return labels
