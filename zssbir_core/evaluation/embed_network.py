"""Embed samples with a bare ``ZSSBIRNet`` (the model being trained) in torch: a ``DataLoader`` of
worker processes, the device's autocast, the network's mode restored after the pass."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

from zssbir_core.data.folder import Sample
from zssbir_core.data.image_dataset import ImageDataset
from zssbir_core.device import autocast as device_autocast
from zssbir_core.models.network import ZSSBIRNet


def embed_network(
    net: ZSSBIRNet, samples: Sequence[Sample], transforms: Mapping[int, Callable[[Image.Image], Any]], image_size: int,
    *, device: torch.device | str, batch_size: int, num_workers: int, precision: torch.dtype | str | None,
    channels_last: bool,
) -> Iterator[np.ndarray]:
    """L2-normalised float32 vectors of ``samples``, one array per batch (``evaluate.embed_samples``)."""
    device = torch.device(device)
    loader = DataLoader(ImageDataset(samples, transforms, target_size=image_size), batch_size=batch_size,
                        num_workers=num_workers, pin_memory=device.type == "cuda")
    was_training = net.training
    net.eval()
    try:
        with torch.inference_mode():
            for images, _, _ in loader:
                yield _encode(net, images, device, precision, channels_last)
    finally:
        net.train(was_training)


def _encode(
    net: ZSSBIRNet, images: torch.Tensor, device: torch.device, precision: torch.dtype | str | None, channels_last: bool
) -> np.ndarray:
    images = images.to(device, non_blocking=True)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    with _autocast(device, precision):
        vectors = net.encode(images)
    return torch.nn.functional.normalize(vectors.float(), dim=1).cpu().numpy()


def _autocast(device: torch.device, precision: torch.dtype | str | None) -> AbstractContextManager[None]:
    if precision == "auto":
        return device_autocast(device)
    if precision is None:
        return nullcontext()
    return torch.autocast(device.type, dtype=precision)


