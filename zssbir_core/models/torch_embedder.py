"""An ``Embedder`` that runs the network in PyTorch (the ``train`` extra): every built-in model,
models without an ONNX file, GPUs through torch, and ``ZSSBIR_RUNTIME=torch``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zssbir_core.cpu_allocator import trim_when_idle
from zssbir_core.device import autocast, resolve_device
from zssbir_core.models.backbones import build_backbone
from zssbir_core.models.embedder import Embedder, at_size
from zssbir_core.models.inference import prepare_for_inference
from zssbir_core.models.network import ZSSBIRNet
from zssbir_core.models.onnx_runtime import OnnxEncoder, onnx_encoder
from zssbir_core.models.preprocessing import Preprocessing


@dataclass
class TorchEmbedder(Embedder):
    """A network ready for inference on one device.

    ``micro_batch`` (0: whole batches) is how many images go through the network at once on the CPU
    (``zssbir_core.models.inference``); ``onnx``, when set, runs the network there instead of torch
    (``zssbir_core.models.onnx_runtime``: a model without a shipped ONNX file, exported once).
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

    @property
    def runtime(self) -> str:
        return f"torch {torch.__version__}" + (" (network in onnxruntime)" if self.onnx is not None else "")

    def embed_tensors(self, batch: Any) -> np.ndarray:
        """(N, 3, S, S) preprocessed images (array or tensor) -> (N, D) float32 L2-normalised rows."""
        batch = (torch.from_numpy(batch) if isinstance(batch, np.ndarray) else batch).to(self.device, non_blocking=True)
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


def load_torch_embedder(
    *, checkpoint: Path | None, backbone: str | None, weights: str | Path | None, device: str,
    image_size: int | None, model_id: str, name: str,
) -> TorchEmbedder:
    """A checkpoint folder (``checkpoint``) or a raw ImageNet built-in (``backbone``) in PyTorch, at
    ``image_size`` (None: the model's own; another size is recorded in the model id)."""
    from zssbir_core.models.checkpoint import load_checkpoint

    torch_device = resolve_device(device)
    if checkpoint is not None:
        net, info = load_checkpoint(checkpoint)
        preprocessing = info.preprocessing
    else:
        built = build_backbone(backbone, weights=weights)
        net, preprocessing = ZSSBIRNet(built, embedding_dim=None), built.preprocessing
    preprocessing, model_id = at_size(preprocessing, model_id, image_size)
    net, micro_batch = prepare_for_inference(net.to(torch_device).eval(), preprocessing.image_size)
    if torch_device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)
    onnx = onnx_encoder(net, preprocessing.image_size) if torch_device.type == "cpu" else None
    return TorchEmbedder(net=net, device=torch_device, preprocessing=preprocessing, model_id=model_id, name=name,
                         micro_batch=micro_batch, onnx=onnx)
