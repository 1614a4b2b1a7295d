"""What a checkpoint folder says about its model (``model.json``), read and checked without torch.

``checkpoint`` builds networks from these folders (torch); this module only finds them and reads
their description, so that the ONNX Runtime path (``onnx_embedder``) and the catalog need no torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zssbir_core import __version__
from zssbir_core.errors import ModelLoadError
from zssbir_core.models.model_json import MAX_MODEL_JSON_BYTES, parse_model_json
from zssbir_core.models.preprocessing import Preprocessing
from zssbir_core.models.safe_io import read_regular_file
from zssbir_core.models.schema import SchemaError

WEIGHTS_FILE = "model.safetensors"
META_FILE = "model.json"
TRAINING_MODEL_DIR = "model"  # the checkpoint's folder inside a training run's output folder


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
        """Stable id of this exact model: vectors from two ids never mix in one index."""
        return f"ckpt-{self.content_hash[:12]}"



def is_checkpoint_dir(path: str | Path) -> bool:
    """True when ``path`` is a directory holding both checkpoint file names (of whatever kind: the
    readers then refuse a link, device or pipe by name, rather than calling it no checkpoint)."""
    path = Path(path)
    return path.is_dir() and os.path.lexists(path / WEIGHTS_FILE) and os.path.lexists(path / META_FILE)


def find_checkpoint_dir(path: str | Path) -> Path | None:
    """``path`` when it is a checkpoint directory, the checkpoint inside it when it is a training
    run's output folder, else None."""
    for candidate in (Path(path), Path(path) / TRAINING_MODEL_DIR):
        if is_checkpoint_dir(candidate):
            return candidate
    return None


def require_checkpoint_dir(directory: Path) -> None:
    if not is_checkpoint_dir(directory):
        raise ModelLoadError(f"{directory} is not a model checkpoint (expected {WEIGHTS_FILE} and {META_FILE})")


def parse_info(meta_bytes: bytes, where: Path) -> tuple[CheckpointInfo, dict[str, Any]]:
    """The description in the bytes of a ``model.json`` (checked), and its parsed JSON."""
    try:
        meta = parse_model_json(meta_bytes)
    except SchemaError as error:
        raise ModelLoadError(f"{where} is not a valid checkpoint description: {error}") from error
    pre = meta["preprocessing"]
    info = CheckpointInfo(
        backbone=meta["backbone"],
        embedding_dim=meta["embedding_dim"],
        num_classes=meta["num_classes"],
        preprocessing=Preprocessing(pre["image_size"], tuple(pre["mean"]), tuple(pre["std"])),
        classes=list(meta["classes"]),
        training=dict(meta.get("training", {})),
        metrics=dict(meta.get("metrics", {})),
        version=str(meta.get("version", "")),
        content_hash=meta["content_hash"],
    )
    return info, meta


def read_checkpoint_info(directory: str | Path, *, follow_links: bool = True) -> CheckpointInfo:
    """Read and check ``model.json`` without loading any weights."""
    directory = Path(directory)
    require_checkpoint_dir(directory)
    meta_bytes = read_regular_file(directory / META_FILE, MAX_MODEL_JSON_BYTES, follow_links=follow_links)
    return parse_info(meta_bytes, directory / META_FILE)[0]
