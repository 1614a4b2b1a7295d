"""The user's trained models, kept under ``paths.models_dir()`` with a name, date, data folder and figures.

Layout: one directory per model, ``<models_dir>/<key>/`` holding ``checkpoint/`` (the checkpoint
directory exactly as ``save_checkpoint`` writes it: ``model.safetensors`` + ``model.json``) and
``entry.json`` (what the user sees: name, creation date, the data folder it was trained on,
validation figures). Keeping the checkpoint untouched means it can be exported by copying it and
loaded anywhere with ``load_model(path)``.

Every change is atomic: a new entry is assembled in a hidden temporary directory inside the store
and renamed into place; ``entry.json`` is replaced with ``os.replace``; a deleted entry is first
renamed away, then removed. A crash at any point leaves either the old state or the new one.
Imports are checked with ``check_checkpoint`` (schema of ``model.json``, content hash, safetensors
header against the described network; nothing is ever unpickled), from plain files only: a
symbolic link, a device or a pipe is refused, sizes are capped, and exactly the bytes that were
checked are written into the store (nothing else in the source folder is copied but the model's
ONNX export, ``model.onnx`` and ``model.onnx.json``, checked by hash: ``onnx_file``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zssbir_core import paths
from zssbir_core.atomic import write_text_atomic
from zssbir_core.errors import ModelLoadError, ZssbirError
from zssbir_core.models.checkpoint_info import META_FILE, WEIGHTS_FILE, CheckpointInfo, read_checkpoint_info
from zssbir_core.models.onnx_file import copy_onnx
from zssbir_core.models.safe_io import read_regular_file
from zssbir_core.models.schema import Nullable, Object, Str
from zssbir_core.models.store_temporaries import claim, release, remove_abandoned

if TYPE_CHECKING:
    from zssbir_core.models.checkpoint import CheckedCheckpoint

ENTRY_FILE = "entry.json"
CHECKPOINT_DIR = "checkpoint"
ENTRY_FORMAT = "zssbir-model-entry"
MAX_ENTRY_BYTES = 1 << 20
ENTRY_SCHEMA = Object(
    required={},
    optional={
        "format": Str(max_length=64),
        "name": Str(max_length=1000),
        "created": Str(max_length=64),
        "data_folder": Nullable(Str(max_length=10_000)),
        "figures": Object(required={}, max_depth=16),
    },
)

__all__ = ["ModelStore", "ModelStoreError", "StoredModel", "verify_checkpoint"]


class ModelStoreError(ZssbirError):
    """A model store operation cannot be done (unknown model, model in use, destination exists)."""


@dataclass(frozen=True)
class StoredModel:
    """One trained model in the store, as listed to the user."""

    key: str
    """Directory name inside the store (stable; the name can change)."""
    name: str
    created: str
    """ISO 8601 UTC time the model was added."""
    data_folder: str | None
    figures: dict[str, Any]
    """Validation figures, e.g. ``{"model": {...}, "baseline": {...}, "classes": [...]}``."""
    model_id: str
    backbone: str
    classes: list[str] = field(default_factory=list)
    directory: Path = Path()

    @property
    def checkpoint_dir(self) -> Path:
        """The checkpoint directory to pass to ``load_model``."""
        return self.directory / CHECKPOINT_DIR


def verify_checkpoint(directory: str | Path) -> CheckpointInfo:
    """Check a checkpoint directory without running any of its content; return its description.

    Both files must be plain files (no links, devices or pipes) within their size caps,
    ``model.json`` must pass its schema, the content hash must match and the safetensors header
    must describe exactly the network of ``model.json``. Raises ``ModelLoadError`` with the reason.
    """
    return _check(directory).info


class ModelStore:
    """The directory of trained models (default ``paths.models_dir()``)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else paths.models_dir()
        remove_abandoned(self.root)  # left by an import or a delete that was killed

    # -- reading -----------------------------------------------------------------------------

    def list(self) -> list[StoredModel]:
        """All readable entries, oldest first (hidden temporary and damaged entries are left out)."""
        if not self.root.is_dir():
            return []
        models = []
        for directory in self.root.iterdir():
            if directory.name.startswith(".") or not directory.is_dir():
                continue
            try:
                models.append(self._read(directory))
            except ModelStoreError:
                continue
        return sorted(models, key=lambda m: (m.created, m.key))

    def get(self, key: str) -> StoredModel:
        """The entry ``key``; ``ModelStoreError`` if there is none."""
        directory = self._entry_dir(key)
        if not directory.is_dir():
            raise ModelStoreError(f"no trained model {key!r} in {self.root}")
        return self._read(directory)

    def find(self, spec: str | Path | None) -> StoredModel | None:
        """The entry a model spec (key, model id or checkpoint path) points at, if it is in the store."""
        if spec is None:
            return None
        text = str(spec)
        for model in self.list():
            if text in (model.key, model.model_id) or _same_path(text, model.checkpoint_dir) \
                    or _same_path(text, model.directory):
                return model
        return None

    # -- changing ----------------------------------------------------------------------------

    def add(self, checkpoint_dir: str | Path, *, name: str | None = None, data_folder: str | Path | None = None,
            figures: dict[str, Any] | None = None) -> StoredModel:
        """Register a checkpoint directory (a training output) as a new entry.

        The checkpoint is verified and copied into a hidden temporary entry with its
        ``entry.json``, which is then renamed into place; the source is left as it was.
        """
        source = Path(checkpoint_dir)
        checked = _check(source)
        info = checked.info
        self.root.mkdir(parents=True, exist_ok=True)
        created = _now()
        key = self._new_key(name or info.backbone, created)
        tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=f".{key}-"))
        held = claim(tmp)  # released when this process ends, however it ends
        try:
            (tmp / CHECKPOINT_DIR).mkdir()
            _write_checked(checked, tmp / CHECKPOINT_DIR, source)
            entry = {
                "format": ENTRY_FORMAT,
                "name": (name or f"{info.backbone} {created[:16].replace('T', ' ')}").strip(),
                "created": created,
                "data_folder": str(data_folder) if data_folder is not None else None,
                "figures": figures or {},
            }
            _write_json(tmp / ENTRY_FILE, entry)
            os.replace(tmp, self.root / key)
        except OSError as error:
            raise ModelStoreError(f"cannot add the model to {self.root}: {error.strerror or error}") from error
        finally:
            release(held)
            shutil.rmtree(tmp, ignore_errors=True)
        return self.get(key)

    def import_checkpoint(self, source: str | Path, *, name: str | None = None) -> StoredModel:
        """Copy a checkpoint directory from elsewhere into the store (verified, never unpickled)."""
        source = Path(source)
        return self.add(source, name=name or source.name, figures={})

    def rename(self, key: str, new_name: str) -> StoredModel:
        """Give entry ``key`` a new display name."""
        new_name = new_name.strip()
        if not new_name:
            raise ModelStoreError("a model name cannot be empty")
        directory = self.get(key).directory
        entry = _read_json(directory / ENTRY_FILE)
        entry["name"] = new_name
        _write_json(directory / ENTRY_FILE, entry)
        return self.get(key)

    def set_figures(self, key: str, figures: dict[str, Any]) -> StoredModel:
        """Replace the validation figures of entry ``key``."""
        directory = self.get(key).directory
        entry = _read_json(directory / ENTRY_FILE)
        entry["figures"] = figures
        _write_json(directory / ENTRY_FILE, entry)
        return self.get(key)

    def delete(self, key: str, *, in_use: str | Path | None) -> None:
        """Remove entry ``key``, unless it is the model in use (``in_use``: the app's model spec)."""
        model = self.get(key)
        if self.find(in_use) == model:
            raise ModelStoreError(f"{model.name!r} is the model in use; switch to another model before deleting it")
        trash = self.root / f".deleted-{key}-{uuid.uuid4().hex[:8]}"
        try:
            os.replace(model.directory, trash)
        except OSError as error:
            raise ModelStoreError(f"cannot delete {model.name!r}: {error.strerror or error}") from error
        shutil.rmtree(trash, ignore_errors=True)

    def export(self, key: str, destination: str | Path) -> Path:
        """Copy the checkpoint of entry ``key`` (checked again, its two files only) to the new directory
        ``destination``; return it."""
        model = self.get(key)
        checked = _check(model.checkpoint_dir)
        destination = Path(destination)
        if destination.exists():
            raise ModelStoreError(f"{destination} already exists; choose a new folder name to export to")
        if not destination.parent.is_dir():
            raise ModelStoreError(f"{destination.parent} is not a folder")
        tmp = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}-"))
        try:
            _write_checked(checked, tmp, model.checkpoint_dir)
            os.replace(tmp, destination)
        except OSError as error:
            raise ModelStoreError(f"cannot export to {destination}: {error.strerror or error}") from error
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return destination

    # -- helpers -----------------------------------------------------------------------------

    def _entry_dir(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ModelStoreError(f"{key!r} is not a model key")
        return self.root / key

    def _new_key(self, name: str, created: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "model"
        stamp = created[:19].replace("-", "").replace(":", "")
        return f"{stamp}-{slug}-{uuid.uuid4().hex[:6]}"

    def _read(self, directory: Path) -> StoredModel:
        try:
            entry = _read_json(directory / ENTRY_FILE)
            info = read_checkpoint_info(directory / CHECKPOINT_DIR, follow_links=False)
        except (ModelLoadError, ModelStoreError) as error:
            raise ModelStoreError(f"{directory} is not a usable model entry: {error}") from error
        return StoredModel(
            key=directory.name,
            name=str(entry.get("name") or directory.name),
            created=str(entry.get("created", "")),
            data_folder=entry.get("data_folder"),
            figures=dict(entry.get("figures") or {}),
            model_id=info.model_id,
            backbone=info.backbone,
            classes=list(info.classes),
            directory=directory,
        )


def _check(directory: str | Path) -> CheckedCheckpoint:
    """``check_checkpoint`` without following links; it compares the weights with the network in
    PyTorch, so without torch (the default install) a clear error says what to install."""
    try:
        from zssbir_core.models.checkpoint import check_checkpoint
    except ImportError as error:
        raise ModelStoreError("adding, importing or exporting a model checks its weights with PyTorch: "
                              "pip install 'zssbir[train]'") from error
    return check_checkpoint(directory, follow_links=False)


def _write_checked(checked: CheckedCheckpoint, directory: Path, source: Path) -> None:
    """Write the checked bytes of a checkpoint, and of its ONNX export when ``source`` has one
    (checked by hash), into the empty ``directory`` (never through a link)."""
    for name, data in ((WEIGHTS_FILE, checked.weights_bytes), (META_FILE, checked.meta_bytes)):
        with open(directory / name, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    copy_onnx(Path(source), directory, checked.info.content_hash)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _same_path(text: str, path: Path) -> bool:
    try:
        return Path(text).resolve() == path.resolve()
    except (OSError, RuntimeError):
        return False


def _read_json(path: Path) -> dict[str, Any]:
    """``entry.json``: a plain file within its cap, checked against ``ENTRY_SCHEMA``."""
    try:
        data = json.loads(read_regular_file(path, MAX_ENTRY_BYTES, follow_links=False).decode("utf-8"))
        return ENTRY_SCHEMA.check(data, "")
    except (ModelLoadError, ValueError, RecursionError) as error:
        raise ModelStoreError(f"cannot read {path}: {error}") from error


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` next to ``path`` and rename it over ``path`` (atomic on one file system)."""
    try:
        write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    except OSError as error:
        raise ModelStoreError(f"cannot write {path}: {error.strerror or error}") from error
