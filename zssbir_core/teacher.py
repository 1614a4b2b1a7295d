"""Class-oriented soft labels from the frozen ImageNet teacher (semantic knowledge preservation).

Before training, the pretrained ImageNet network (the teacher, never trained) looks at every
photo of each training class; ``softmax(logits / T)`` averaged over a class's photos is that
class's soft label, a 1000-d distribution over ImageNet classes. During training the student's
ImageNet head is pulled towards the soft label of its sample's class, for sketches and photos
alike. The labels are computed once and cached under ``paths.cache_dir()/teacher``, keyed by the
dataset fingerprint, the class list, the backbone, its weights file, the temperature and the
input size. The cache is optional: a file that cannot be read (damaged, a FIFO, a link, too large)
is computed again, and one that cannot be written (a read-only or full disk) is logged and
training goes on. It is read into memory, never memory-mapped (a file replaced while it is mapped
kills the process with SIGBUS).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save_file

from zssbir_core import paths
from zssbir_core.atomic import atomic_path
from zssbir_core.data.domains import PHOTO
from zssbir_core.data.folder import FolderDataset
from zssbir_core.errors import DatasetError, ZssbirError
from zssbir_core.safe_read import read_regular

log = logging.getLogger(__name__)
CACHE_VERSION = 1
_MAX_CACHE_HEADER = 1 << 20
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
    try:
        labels = load(read_regular(path, len(dataset.classes) * 1000 * 4 + _MAX_CACHE_HEADER))["soft_labels"]
        if labels.shape == (len(dataset.classes), 1000) and labels.dtype == torch.float32 \
                and bool(torch.isfinite(labels).all()):
            return labels
    except (OSError, KeyError, RuntimeError, ValueError, SafetensorError):
        pass  # missing, damaged or not a plain file: computed again below
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
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as temp:
            save_file({"soft_labels": labels.contiguous()}, str(temp), metadata={"classes": json.dumps(dataset.classes)})
    except (OSError, SafetensorError, ZssbirError) as error:  # a read-only or full disk: only a cache
        log.warning("the teacher's soft labels are not cached in %s (%s); training goes on", folder, error)
    return labels
