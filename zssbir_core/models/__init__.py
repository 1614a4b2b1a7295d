"""Backbones, the ZS-SBIR network, checkpoints and model loading by name."""

from zssbir_core.models.backbones import BACKBONES, Backbone, build_backbone
from zssbir_core.models.checkpoint import (
    CheckpointInfo,
    is_checkpoint_dir,
    load_checkpoint,
    read_checkpoint_info,
    save_checkpoint,
)
from zssbir_core.models.network import NetOutput, ZSSBIRNet
from zssbir_core.models.preprocessing import Preprocessing
from zssbir_core.models.registry import (
    BUILTIN_MODELS,
    DEFAULT_MODEL,
    OFFLINE_MODEL,
    Embedder,
    load_model,
)
from zssbir_core.models.resnet import DownloadCancelled, ensure_resnet50_weights, resnet50_cache_path

__all__ = [
    "BACKBONES",
    "BUILTIN_MODELS",
    "DEFAULT_MODEL",
    "OFFLINE_MODEL",
    "Backbone",
    "CheckpointInfo",
    "DownloadCancelled",
    "Embedder",
    "NetOutput",
    "Preprocessing",
    "ZSSBIRNet",
    "build_backbone",
    "ensure_resnet50_weights",
    "is_checkpoint_dir",
    "load_checkpoint",
    "load_model",
    "read_checkpoint_info",
    "resnet50_cache_path",
    "save_checkpoint",
]
