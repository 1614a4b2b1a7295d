"""A trained model on disk: a directory with ``model.safetensors`` (weights) and ``model.json``
(backbone, embedding size, preprocessing, classes, training config, metrics, version, hash).

Nothing in a checkpoint is trusted before it is checked, in this order: both files must be
regular files within a size cap (never a device or a pipe); ``model.json`` must pass its schema
with limits (``model_json.SCHEMA``); the content hash must cover both files (format version 2,
see ``model_json``); the safetensors header must be well formed and name exactly the tensors
(shapes, dtypes) of the network that ``model.json`` describes. Only then is a network built and
the weights loaded, from the bytes that were checked. Weights are read with safetensors, which
cannot run code. Saving writes a temporary directory and renames it into place.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save_file

from zssbir_core import __version__
from zssbir_core.atomic import replace_directory
from zssbir_core.errors import ModelLoadError
from zssbir_core.models import safetensors_header
from zssbir_core.models.backbones import build_backbone
from zssbir_core.models.checkpoint_info import (
    META_FILE,
    TRAINING_MODEL_DIR,
    WEIGHTS_FILE,
    CheckpointInfo,
    find_checkpoint_dir,
    is_checkpoint_dir,
    parse_info,
    read_checkpoint_info,
    require_checkpoint_dir,
)
from zssbir_core.models.model_json import FORMAT, FORMAT_VERSION, MAX_MODEL_JSON_BYTES, content_hash
from zssbir_core.models.network import ZSSBIRNet
from zssbir_core.models.preprocessing import Preprocessing
from zssbir_core.models.safe_io import first_line, read_regular_file

MAX_WEIGHTS_BYTES = 1 << 30

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "META_FILE",
    "TRAINING_MODEL_DIR",
    "WEIGHTS_FILE",
    "CheckpointInfo",
    "CheckedCheckpoint",
    "check_checkpoint",
    "find_checkpoint_dir",
    "is_checkpoint_dir",
    "load_checkpoint",
    "read_checkpoint_info",
    "save_checkpoint",
]


@dataclass(frozen=True)
class CheckedCheckpoint:
    """A checkpoint's two files as read, after every check passed."""

    info: CheckpointInfo
    meta_bytes: bytes
    weights_bytes: bytes


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
        }
        # Round-trip through JSON first, so that the hash is of exactly what a reader will parse.
        meta = json.loads(json.dumps(meta))
        meta["content_hash"] = content_hash(meta, (tmp / WEIGHTS_FILE).read_bytes())
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        replace_directory(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory


def _network(info: CheckpointInfo) -> ZSSBIRNet:
    return ZSSBIRNet(build_backbone(info.backbone, pretrained=False), info.embedding_dim, info.num_classes)


def expected_tensors(info: CheckpointInfo) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """Name -> (shape, dtype) of every tensor the network described by ``info`` holds (nothing is
    allocated: the network is built on the meta device)."""
    with torch.device("meta"):
        net = _network(info)
    return {name: (tuple(value.shape), value.dtype) for name, value in net.state_dict().items()}


def check_checkpoint(directory: str | Path, *, follow_links: bool = True) -> CheckedCheckpoint:
    """Read both files of a checkpoint directory and check them all (see the module doc); no
    network is built with real memory and no tensor is read. Raises ``ModelLoadError``."""
    directory = Path(directory)
    require_checkpoint_dir(directory)
    meta_bytes = read_regular_file(directory / META_FILE, MAX_MODEL_JSON_BYTES, follow_links=follow_links)
    info, meta = parse_info(meta_bytes, directory / META_FILE)
    weights_path = directory / WEIGHTS_FILE
    weights = read_regular_file(weights_path, MAX_WEIGHTS_BYTES, follow_links=follow_links)
    if content_hash(meta, weights) != info.content_hash:
        raise ModelLoadError(f"{weights_path} is damaged: its content does not match {META_FILE}"
                             + (" (or model.json was edited)" if meta["format_version"] >= 2 else ""))
    header = safetensors_header.read_header(weights, str(weights_path))
    safetensors_header.check_against(header, expected_tensors(info), str(weights_path))
    return CheckedCheckpoint(info, meta_bytes, weights)


def load_checkpoint(directory: str | Path, device: str | torch.device = "cpu") -> tuple[ZSSBIRNet, CheckpointInfo]:
    """Rebuild the network of a checkpoint directory and load its weights (everything checked first)."""
    directory = Path(directory)
    checked = check_checkpoint(directory)
    net = _network(checked.info)
    try:
        net.load_state_dict(load_safetensors(checked.weights_bytes))
    except Exception as error:  # safetensors raises its own error types; the header was checked already
        raise ModelLoadError(f"{directory} does not match its own description: {first_line(error)}") from error
    return net.to(device).eval(), checked.info
