"""How an image becomes the network's input: size and normalisation, saved with every model."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
from PIL import Image

from zssbir_core.errors import ModelLoadError

MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 32, 1024
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# The TF EfficientNet-Lite weights expect (pixel - 127) / 128 on 0..255 pixels.
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3


@dataclass(frozen=True)
class Preprocessing:
    """Square input side in pixels, and the per-channel mean and std on 0..1 pixel values."""

    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        return cls(int(data["image_size"]), tuple(data["mean"]), tuple(data["std"]))

    def with_size(self, image_size: int) -> Preprocessing:
        """The same normalisation at another input size (``MIN_IMAGE_SIZE`` to ``MAX_IMAGE_SIZE``:
        a size from a damaged library or model file must not ask for gigabytes per image)."""
        try:
            size = operator.index(image_size)  # ints and NumPy ints, not floats or strings
        except TypeError:
            size = None
        if size is None or isinstance(image_size, bool) or not MIN_IMAGE_SIZE <= size <= MAX_IMAGE_SIZE:
            raise ModelLoadError(
                f"input size {image_size!r} is not a whole number from {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE} pixels")
        return replace(self, image_size=size)

    def normalize(self, batch01: torch.Tensor) -> torch.Tensor:
        """Normalise a (..., 3, H, W) tensor of 0..1 pixels."""
        mean = torch.tensor(self.mean, dtype=batch01.dtype, device=batch01.device).view(3, 1, 1)
        std = torch.tensor(self.std, dtype=batch01.dtype, device=batch01.device).view(3, 1, 1)
        return (batch01 - mean) / std

    def transform(self) -> Callable[[Image.Image], torch.Tensor]:
        """PIL RGB image -> (3, S, S) float tensor: shorter side to S, centre crop, normalise."""
        return InputTransform(self.image_size, self.mean, self.std)


class InputTransform:
    """``Preprocessing.transform``: the same arithmetic as torchvision's ``v2`` ``ToImage,
    Resize(S, antialias=True), CenterCrop(S), ToDtype(float32, scale=True), Normalize`` (a test
    holds them equal), written with torch alone, as importing torchvision costs about 1.4 s at every
    start. A class, not a closure, so that data-loader worker processes can pickle it."""

    def __init__(self, size: int, mean: tuple[float, float, float], std: tuple[float, float, float]) -> None:
        self.size = size
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        size = self.size
        pixels = torch.from_numpy(np.array(image.convert("RGB"), dtype=np.uint8)).permute(2, 0, 1)
        height, width = pixels.shape[-2:]
        if width <= height:
            new_width, new_height = size, int(size * height / width)
        else:
            new_width, new_height = int(size * width / height), size
        if (new_height, new_width) != (height, width):
            pixels = torch.nn.functional.interpolate(pixels[None], size=(new_height, new_width), mode="bilinear",
                                                     align_corners=False, antialias=True)[0]
        top, left = int(round((new_height - size) / 2.0)), int(round((new_width - size) / 2.0))
        pixels = pixels[:, top : top + size, left : left + size]
        return (pixels.float() / 255.0 - self.mean) / self.std
