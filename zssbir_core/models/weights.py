"""Weights fetched on first use, for any built-in model the catalog marks as downloaded
(``BuiltinModel.downloads``): whether a model still needs them, and the download itself."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from zssbir_core.models import catalog

ProgressCallback = Callable[[int, int], None]


def needs_download(spec: str | Path, weights: str | Path | None = None) -> bool:
    """True when loading ``spec`` would first download weights: a built-in model the catalog
    downloads, with no local ``weights`` file given and nothing in the cache yet. Without torch
    there is nothing to download for: loading the model says what to install."""
    from zssbir_core.models.runtime_choice import torch_installed

    model = catalog.builtin(spec)
    return (model is not None and model.downloads and not weights and torch_installed()
            and not catalog.weights_available(model))


def ensure_weights(
    spec: str | Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    url: str | None = None,
) -> Path | None:
    """Download the weights of ``spec`` into the cache when it is a model the catalog downloads
    (``progress(done, total)`` in bytes; ``url`` overrides the source) and return the cached file;
    None for a model that needs no download. A cancelled download raises ``DownloadCancelled`` and
    leaves nothing behind; a failed one ``WeightsUnavailableError``."""
    model = catalog.builtin(spec)
    if model is None or not model.downloads:
        return None
    from zssbir_core.models.resnet import ensure_resnet50_weights

    downloaders = {"resnet50": ensure_resnet50_weights}
    return downloaders[model.backbone](progress=progress, cancel=cancel, url=url)
