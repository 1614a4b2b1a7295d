"""A trained model on disk: a directory with ``model.safetensors`` (weights) and ``model.json``
(backbone, embedding size, preprocessing, classes, training config, metrics, version, hash).

Weights are read with safetensors, which cannot run code, so a checkpoint from anywhere is safe to
open. Saving writes a temporary directory and renames it into place.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from zssbir_core import __version__
from zssbir_core.atomic import replace_directory
from zssbir_core.errors import ModelLoadError
from zssbir_core.models.backbones import build_backbone
from zssbir_core.models.network import ZSSBIRNet
from zssbir_core.models.preprocessing import Preprocessing

WEIGHTS_FILE = "model.safetensors"
META_FILE = "model.json"
FORMAT = "zssbir-checkpoint"
TRAINING_MODEL_DIR = "model"  # the checkpoint's folder inside a training run's output folder
FORMAT_VERSION = 1


@dataclass(frozen=True)
class CheckpointInfo:
    """What ``model.json`` says about a checkpoint."""

    backbone: str
    embedding_dim: int | None
    num_classes: int
    preprocessing: Preprocessing
    classes: list[str]
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    version: str = __version__
    content_hash: str = ""

    @property
    def model_id(self) -> str:
        """Stable id of these exact weights: vectors from two ids never mix in one index."""
        return f"ckpt-{self.content_hash[:12]}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def is_checkpoint_dir(path: str | Path) -> bool:
    """True when ``path`` is a directory holding both checkpoint files."""
    path = Path(path)
    return (path / WEIGHTS_FILE).is_file() and (path / META_FILE).is_file()


def find_checkpoint_dir(path: str | Path) -> Path | None:
    """``path`` when it is a checkpoint directory, the checkpoint inside it when it is a training
    run's output folder, else None."""
    for candidate in (Path(path), Path(path) / TRAINING_MODEL_DIR):
        if is_checkpoint_dir(candidate):
            return candidate
    return None


def save_checkpoint(
    net: ZSSBIRNet,
    directory: str | Path,
    *,
    classes: list[str],
    training: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    preprocessing: Preprocessing | None = None,
) -> Path:
    """Write ``net`` as a checkpoint directory, replacing any previous one atomically."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}-"))
    try:
        state = {k: v.detach().to("cpu").contiguous() for k, v in net.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS_FILE))
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "backbone": net.backbone.name,
            "embedding_dim": net.embedding_dim if net.has_projection else None,
            "num_classes": net.num_classes,
            "preprocessing": (preprocessing or net.backbone.preprocessing).to_dict(),
            "classes": list(classes),
            "training": training or {},
            "metrics": metrics or {},
            "version": __version__,
            "content_hash": _sha256(tmp / WEIGHTS_FILE),
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        replace_directory(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory


def read_checkpoint_info(directory: str | Path) -> CheckpointInfo:
    """Read and check ``model.json`` without loading any weights."""
    directory = Path(directory)
    if not is_checkpoint_dir(directory):
        raise ModelLoadError(f"{directory} is not a model checkpoint (expected {WEIGHTS_FILE} and {META_FILE})")
    try:
        meta = json.loads((directory / META_FILE).read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"format is {meta.get('format')!r}, not {FORMAT!r}")
        if int(meta["format_version"]) > FORMAT_VERSION:
            raise ValueError(f"format version {meta['format_version']} is newer than this zssbir understands")
        return CheckpointInfo(
            backbone=str(meta["backbone"]),
            embedding_dim=meta["embedding_dim"],
            num_classes=int(meta["num_classes"]),
            preprocessing=Preprocessing.from_dict(meta["preprocessing"]),
            classes=list(meta["classes"]),
            training=dict(meta.get("training", {})),
            metrics=dict(meta.get("metrics", {})),
            version=str(meta.get("version", "")),
            content_hash=str(meta["content_hash"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ModelLoadError(f"{directory / META_FILE} is not a valid checkpoint description: {error}") from error


def load_checkpoint(directory: str | Path, device: str | torch.device = "cpu") -> tuple[ZSSBIRNet, CheckpointInfo]:
    """Rebuild the network of a checkpoint directory and load its weights (hash checked)."""
    directory = Path(directory)
    info = read_checkpoint_info(directory)
    if _sha256(directory / WEIGHTS_FILE) != info.content_hash:
        raise ModelLoadError(f"{directory / WEIGHTS_FILE} is damaged: its content does not match model.json")
    net = ZSSBIRNet(build_backbone(info.backbone, pretrained=False), info.embedding_dim, info.num_classes)
    try:
        net.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
    except (RuntimeError, OSError) as error:
        raise ModelLoadError(f"{directory} does not match its own description: {error}") from error
    return net.to(device).eval(), info
