"""Write a checkpoint's ``model.onnx`` (and ``model.onnx.json``), checked against PyTorch.

Run at the end of every training and fine-tuning (``training.trainer``) and, for the packaged
models, by ``scripts/export_onnx.py``: the network as ``load_model`` prepares it for the CPU is
exported, its large weights stored as float16 (``onnx_half_storage``: half the file, the same
float32 arithmetic), both engines embed the check images, and the file is written only when every
cosine between the two is at least ``MIN_COSINE``. Then the model runs in the default install,
without torch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from zssbir_core.errors import ModelLoadError
from zssbir_core.models.checkpoint import load_checkpoint
from zssbir_core.models.embedder import l2_normalize
from zssbir_core.models.inference import prepare_for_inference
from zssbir_core.models.onnx_file import describe, write_onnx
from zssbir_core.models.onnx_half_storage import store_weights_as_float16
from zssbir_core.models.onnx_runtime import OPSET, export_bytes

MIN_COSINE = 0.9999
log = logging.getLogger(__name__)


def check_images() -> list[Image.Image]:
    """Deterministic images with photo-like and sketch-like content (noise, a gradient, a fractal,
    strokes), for a check that needs no data set."""
    strokes = Image.new("RGB", (300, 240), "white")
    draw = ImageDraw.Draw(strokes)
    draw.ellipse((40, 30, 200, 190), outline="black", width=4)
    draw.line((10, 220, 290, 20), fill="black", width=3)
    gradient = Image.linear_gradient("L").resize((320, 200)).convert("RGB")
    return [Image.effect_noise((260, 260), 64).convert("RGB"), gradient,
            Image.effect_mandelbrot((256, 320), (-2.0, -1.2, 0.8, 1.2), 64).convert("RGB"), strokes]


def lowest_cosine(onnx_bytes: bytes, net: torch.nn.Module, batch: np.ndarray) -> float:
    """The smallest cosine between ONNX Runtime's and PyTorch's embeddings of ``batch``."""
    import onnxruntime

    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    ours = l2_normalize(session.run(None, {"x": batch})[0])
    with torch.inference_mode():
        theirs = l2_normalize(net.encode(torch.from_numpy(batch), normalize=False).numpy())
    return float((ours * theirs).sum(1).min())


def export_checkpoint(folder: str | Path, images: Sequence[Image.Image] | None = None) -> Path:
    """Export the checkpoint in ``folder`` to ``folder/model.onnx`` at its own input size, after
    checking it against PyTorch on ``images`` (default ``check_images()``); returns the file.
    Raises ``ModelLoadError`` when the two engines disagree."""
    folder = Path(folder)
    net, info = load_checkpoint(folder)
    size = info.preprocessing.image_size
    net, _ = prepare_for_inference(net.eval(), size)
    data = store_weights_as_float16(export_bytes(net, size))
    transform = info.preprocessing.transform()
    cosine = lowest_cosine(data, net, np.stack([transform(image) for image in images or check_images()]))
    if cosine < MIN_COSINE:
        raise ModelLoadError(f"the ONNX export of {folder} differs from PyTorch (cosine {cosine:.6f} < {MIN_COSINE})")
    return write_onnx(folder, data, describe(data, info.content_hash, size, net.embedding_dim, OPSET))


def export_after_training(folder: Path) -> Path | None:
    """``export_checkpoint`` for a model that training just saved; a failure is logged, not raised
    (the model still runs in PyTorch), and None returned."""
    try:
        return export_checkpoint(folder)
    except Exception as error:  # noqa: BLE001 - the exporter's and ONNX Runtime's own errors: the model stays usable
        log.warning("could not export %s to ONNX (it needs PyTorch to run): %s", folder, error)
        return None
