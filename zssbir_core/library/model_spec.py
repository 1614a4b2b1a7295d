"""Which model to load for a library: its model id turned back into a ``load_model`` spec."""

from __future__ import annotations

from zssbir_core.errors import LibraryError


def model_spec_for(model_id: str) -> tuple[str, int | None]:
    """``(spec, image_size)`` to pass to ``load_model`` so that it yields ``model_id`` again.

    Built-in ids are ``name`` or ``name@size``; a checkpoint id (``ckpt-...``) is looked up among
    the user's trained models. Raises LibraryError when the model cannot be found.
    """
    from zssbir_core.models.catalog import BUILTIN_IDS

    base, _, size = model_id.partition("@")
    image_size = int(size) if size.isdigit() else None
    if base in BUILTIN_IDS:
        return base, image_size
    from zssbir_core.models.store import ModelStore

    stored = ModelStore().find(base)
    if stored is None:
        raise LibraryError(
            f"the library was indexed with model {model_id!r}, which is not among your trained models; "
            "give the checkpoint folder with --model"
        )
    return str(stored.checkpoint_dir), image_size
