"""A checkpoint's ONNX export (``model.onnx``) and the description that binds it to the checkpoint
(``model.onnx.json``), read and checked without torch.

The description names the checkpoint's ``content_hash`` (which covers its weights and
``model.json``), the sha256 of ``model.onnx`` and the input size the graph was exported for. A
file exported from another model, copied over, edited or cut short is refused by hash before
ONNX Runtime sees a byte of it. Written by ``onnx_export`` (torch) at the end of every training
and by ``scripts/export_onnx.py`` for the packaged models.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zssbir_core import __version__
from zssbir_core.atomic import write_bytes_atomic
from zssbir_core.errors import ModelLoadError
from zssbir_core.models.preprocessing import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
from zssbir_core.models.safe_io import read_regular_file
from zssbir_core.models.schema import Int, Object, SchemaError, Str

ONNX_FILE = "model.onnx"
ONNX_META_FILE = "model.onnx.json"
FORMAT = "zssbir-onnx"
FORMAT_VERSION = 1
MAX_ONNX_BYTES = 1 << 30
MAX_ONNX_META_BYTES = 64 << 10
_HEX64 = Str(max_length=64, pattern="[0-9a-f]{64}")
SCHEMA = Object(
    required={
        "format": Str(max_length=64, choices=(FORMAT,)),
        "format_version": Int(1, FORMAT_VERSION),
        "checkpoint_hash": _HEX64,
        "onnx_sha256": _HEX64,
        "image_size": Int(MIN_IMAGE_SIZE, MAX_IMAGE_SIZE),
        "embedding_dim": Int(1, 1 << 16),
    },
    optional={"zssbir_version": Str(max_length=64), "opset": Int(1, 1000)},
    max_depth=1,
)



@dataclass(frozen=True)
class OnnxDescription:
    """What ``model.onnx.json`` says: the export's hash, input size and vector size."""

    checkpoint_hash: str
    onnx_sha256: str
    image_size: int
    embedding_dim: int


def describe(onnx_bytes: bytes, checkpoint_hash: str, image_size: int, embedding_dim: int, opset: int) -> dict[str, Any]:
    """The ``model.onnx.json`` of an export."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "checkpoint_hash": checkpoint_hash,
            "onnx_sha256": hashlib.sha256(onnx_bytes).hexdigest(), "image_size": image_size,
            "embedding_dim": embedding_dim, "opset": opset, "zssbir_version": __version__}


def write_onnx(directory: Path, onnx_bytes: bytes, description: dict[str, Any]) -> Path:
    """Write ``model.onnx`` then its description into ``directory`` (each atomically)."""
    write_bytes_atomic(directory / ONNX_FILE, onnx_bytes)
    write_bytes_atomic(directory / ONNX_META_FILE, (json.dumps(description, indent=2, sort_keys=True) + "\n").encode())
    return directory / ONNX_FILE


def read_description(directory: Path, checkpoint_hash: str, *, follow_links: bool = True) -> OnnxDescription | None:
    """The description of ``directory``'s ONNX export, None when it has none; ``ModelLoadError``
    when it is unreadable or belongs to another checkpoint."""
    if not os.path.lexists(directory / ONNX_FILE) and not os.path.lexists(directory / ONNX_META_FILE):
        return None
    where = directory / ONNX_META_FILE
    if not os.path.lexists(where):
        raise ModelLoadError(f"{directory / ONNX_FILE} has no {ONNX_META_FILE} beside it: {_redo(directory)}")
    try:
        meta = SCHEMA.check(json.loads(read_regular_file(where, MAX_ONNX_META_BYTES, follow_links=follow_links)), "")
    except (ValueError, SchemaError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ModelLoadError(f"{where} is not a valid ONNX description ({error}): {_redo(directory)}") from error
    if meta["checkpoint_hash"] != checkpoint_hash:
        raise ModelLoadError(f"{directory / ONNX_FILE} was exported from another model than the one in this folder: "
                             f"{_redo(directory)}")
    return OnnxDescription(meta["checkpoint_hash"], meta["onnx_sha256"], meta["image_size"], meta["embedding_dim"])


def read_checked_onnx(directory: Path, description: OnnxDescription, *, follow_links: bool = True) -> bytes:
    """The bytes of ``model.onnx`` after its sha256 matched ``description``."""
    data = read_regular_file(directory / ONNX_FILE, MAX_ONNX_BYTES, follow_links=follow_links)
    if hashlib.sha256(data).hexdigest() != description.onnx_sha256:
        raise ModelLoadError(f"{directory / ONNX_FILE} is damaged (its content does not match {ONNX_META_FILE}): "
                             f"{_redo(directory)}")
    return data


def copy_onnx(source: Path, target: Path, checkpoint_hash: str) -> bool:
    """Copy ``source``'s checked ONNX export of the checkpoint ``checkpoint_hash`` into the folder
    ``target`` (plain files only, never through a link); False when ``source`` has none."""
    description = read_description(source, checkpoint_hash, follow_links=False)
    if description is None:
        return False
    data = read_checked_onnx(source, description, follow_links=False)
    meta = read_regular_file(source / ONNX_META_FILE, MAX_ONNX_META_BYTES, follow_links=False)
    for name, content in ((ONNX_FILE, data), (ONNX_META_FILE, meta)):
        with open(target / name, "xb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    return True


def _redo(directory: Path) -> str:
    return f"delete {ONNX_FILE} and {ONNX_META_FILE} there, or export it again (python scripts/export_onnx.py {directory})"
