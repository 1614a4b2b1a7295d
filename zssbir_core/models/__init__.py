"""Backbones, the ZS-SBIR network, checkpoints, the model catalog and model loading by name.

The names below are imported on first use (PEP 562), so that ``zssbir_core.models.catalog`` can be
imported without loading torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_SOURCES = {
    "BACKBONES": "backbone_names",
    "BUILTIN_IDS": "catalog",
    "BUILTIN_MODELS": "catalog",
    "DEFAULT_MODEL": "catalog",
    "BuiltinModel": "catalog",
    "Backbone": "backbones",
    "build_backbone": "backbones",
    "CheckpointInfo": "checkpoint_info",
    "is_checkpoint_dir": "checkpoint_info",
    "load_checkpoint": "checkpoint",
    "read_checkpoint_info": "checkpoint_info",
    "save_checkpoint": "checkpoint",
    "NetOutput": "network",
    "ZSSBIRNet": "network",
    "Preprocessing": "preprocessing",
    "Embedder": "registry",
    "load_model": "registry",
    "DownloadCancelled": "resnet",
    "ensure_resnet50_weights": "resnet",
    "resnet50_cache_path": "resnet",
}

__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_SOURCES[name]}"), name)
