"""Models by name (the catalog's built-in models, checkpoint directories, training runs), loaded
as an ``Embedder`` that turns images into the vectors the library indexes and searches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from zssbir_core.cpu_allocator import trim_when_idle
from zssbir_core.device import autocast, resolve_device
from zssbir_core.errors import ModelLoadError
from zssbir_core.models import catalog
from zssbir_core.models.backbones import build_backbone
from zssbir_core.models.checkpoint import find_checkpoint_dir, load_checkpoint
from zssbir_core.models.inference import prepare_for_inference
from zssbir_core.models.model_id import ModelId
from zssbir_core.models.network import ZSSBIRNet
from zssbir_core.models.onnx_runtime import OnnxEncoder, onnx_encoder
from zssbir_core.models.preprocessing import Preprocessing


@dataclass
class Embedder:
    """A network ready for inference on one device, with the preprocessing it was trained with.

    ``flip_average`` embeds each image and its mirror image and averages the two vectors.
    ``micro_batch`` (0: whole batches) is how many images go through the network at once on the CPU
    (``zssbir_core.models.inference``); ``onnx``, when set, runs the network there instead of torch
    (``zssbir_core.models.onnx_runtime``).
    """

    net: ZSSBIRNet
    device: torch.device
    preprocessing: Preprocessing
    model_id: str
    name: str
    flip_average: bool = False
    micro_batch: int = 0
    onnx: OnnxEncoder | None = None

    @property
    def embedding_dim(self) -> int:
        return self.net.embedding_dim

    def embed_tensors(self, batch: torch.Tensor) -> np.ndarray:
        """(N, 3, S, S) preprocessed images -> (N, D) float32 L2-normalised rows."""
        batch = batch.to(self.device, non_blocking=True)
        if self.device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), autocast(self.device):
            vectors = torch.nn.functional.normalize(self._encode(batch), dim=1)
            if self.flip_average:
                flipped = torch.nn.functional.normalize(self._encode(batch.flip(-1)), dim=1)
                vectors = torch.nn.functional.normalize(vectors + flipped, dim=1)
        if self.device.type == "cpu":
            trim_when_idle()
        return vectors.cpu().numpy()

    def _encode(self, batch: torch.Tensor) -> torch.Tensor:
        if self.device.type != "cpu":
            return self.net.encode(batch).float()
        run = self.net.encode
        if self.onnx is not None and tuple(batch.shape[-2:]) == (self.onnx.image_size,) * 2:
            run = self.onnx
        parts = batch.split(self.micro_batch) if self.micro_batch else (batch,)
        return torch.cat([run(part).float() for part in parts])

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """RGB PIL images -> (N, D) float32 L2-normalised rows."""
        if not images:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        transform = self.preprocessing.transform()
        return self.embed_tensors(torch.stack([transform(image.convert("RGB")) for image in images]))


def load_model(
    spec: str | Path,
    *,
    device: str | torch.device = "cpu",
    weights: str | Path | None = None,
    image_size: int | None = None,
) -> Embedder:
    """Load a built-in model of the catalog (or ``default``), a checkpoint directory or a training
    run's output folder (its checkpoint) for inference.

    ``weights`` is a local ImageNet weights file for a built-in ImageNet model; ``image_size``
    overrides the input size (smaller is faster; the model id records it, so vectors of two sizes
    never mix). A packaged trained model's id is its catalog id, so a library indexed with it
    finds it again by name.
    """
    device = device if isinstance(device, torch.device) else resolve_device(device)
    spec_text = str(spec)
    builtin = catalog.builtin(spec_text)
    if builtin is not None and builtin.checkpoint_dir is not None:
        net, info = load_checkpoint(builtin.checkpoint_dir)
        preprocessing, model_id, name = info.preprocessing, builtin.id, builtin.id
    elif builtin is not None:
        backbone = build_backbone(builtin.backbone, weights=weights)
        net = ZSSBIRNet(backbone, embedding_dim=None)
        preprocessing, model_id, name = backbone.preprocessing, builtin.id, builtin.id
    elif (checkpoint := find_checkpoint_dir(spec_text)) is not None:
        net, info = load_checkpoint(checkpoint)
        preprocessing, model_id = info.preprocessing, info.model_id
        name = Path(spec_text).resolve().name
    else:
        raise ModelLoadError(catalog.unknown_model_message(spec_text))
    if image_size is not None and image_size != preprocessing.image_size:
        preprocessing = preprocessing.with_size(image_size)
        model_id = str(ModelId(model_id, image_size))
    net, micro_batch = prepare_for_inference(net.to(device).eval(), preprocessing.image_size)
    if device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)
    onnx = onnx_encoder(net, preprocessing.image_size) if device.type == "cpu" else None
    return Embedder(net=net, device=device, preprocessing=preprocessing, model_id=model_id, name=name,
                    micro_batch=micro_batch, onnx=onnx)
