"""Which model to load for a library: an explicit choice, else the library's own model (its id
turned back into a ``load_model`` spec), else the default model. The CLI and the app both ask here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zssbir_core.errors import LibraryError
from zssbir_core.models.model_id import ModelId

if TYPE_CHECKING:
    from zssbir_core.library.library import PhotoLibrary


@dataclass(frozen=True)
class ModelRequest:
    """What to pass to ``load_model``: a spec (built-in id, checkpoint folder) and an input size
    (None: the model's own)."""

    spec: str
    image_size: int | None = None


def model_spec_for(model_id: str) -> ModelRequest:
    """The request that makes ``load_model`` yield ``model_id`` again.

    Built-in ids are ``name`` or ``name@size``; a checkpoint id (``ckpt-...``) is looked up among
    the user's trained models. Raises LibraryError when the model cannot be found.
    """
    from zssbir_core.models.catalog import BUILTIN_IDS

    parsed = ModelId.parse(model_id)
    if parsed.name in BUILTIN_IDS:
        return ModelRequest(parsed.name, parsed.image_size)
    from zssbir_core.models.store import ModelStore

    stored = ModelStore().find(parsed.name)
    if stored is None:
        raise LibraryError(
            f"the library was indexed with model {model_id!r}, which is not among your trained models; "
            "give the checkpoint folder with --model"
        )
    return ModelRequest(str(stored.checkpoint_dir), parsed.image_size)


def model_for_library(
    library: PhotoLibrary | None, override: str | Path | None = None, image_size: int | None = None
) -> ModelRequest:
    """The model to search ``library`` with: ``override`` when given, else the model the library
    was indexed with, else the default model. ``image_size`` wins over the library's recorded size;
    an override without one runs at its own size. Raises LibraryError when the library's model
    cannot be found."""
    from zssbir_core.models.catalog import DEFAULT_MODEL

    if override:
        return ModelRequest(str(override), image_size)
    if library is None or library.model_id is None:
        return ModelRequest(DEFAULT_MODEL, image_size)
    recorded = model_spec_for(library.model_id)
    return ModelRequest(recorded.spec, image_size or recorded.image_size)
