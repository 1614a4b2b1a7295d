"""How an image becomes the network's input: size and normalisation, saved with every model.

Torch-free: the transform is numpy and Pillow only, so the slim install (ONNX Runtime, no torch)
embeds exactly what training saw.
"""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
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

    def transform(self) -> InputTransform:
        """PIL RGB image -> (3, S, S) float32 array: shorter side to S, centre crop, normalise."""
        return InputTransform(self.image_size, self.mean, self.std)


class InputTransform:
    """``Preprocessing.transform``: torchvision's ``v2`` ``ToImage, Resize(S, antialias=True),
    CenterCrop(S), ToDtype(float32, scale=True), Normalize`` with Pillow's resize, the antialiased
    bilinear filter that torch's own copies. Pillow keeps 22 bits in its fixed-point weights where
    torch keeps 15 or so, so about one channel value in 1,400 differs by a level of 255 (a
    test bounds it, and the vectors agree to a cosine of 0.9999); Pillow's C code is 20 times faster
    than the numpy that matched torch bit for bit, and it leaves the GIL to the other decoding threads.
    Training, both runtimes and every model's export use this one transform. A class, not a closure,
    so that data-loader worker processes can pickle it."""

    def __init__(self, size: int, mean: tuple[float, float, float], std: tuple[float, float, float]) -> None:
        self.size = size
        self.mean = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)

    def __call__(self, image: Image.Image) -> np.ndarray:
        size = self.size
        image = image.convert("RGB")
        width, height = image.size
        if width <= height:
            new_width, new_height = size, int(size * height / width)
        else:
            new_width, new_height = int(size * width / height), size
        if (new_width, new_height) != (width, height):
            image = image.resize((new_width, new_height), Image.Resampling.BILINEAR)
        top, left = int(round((new_height - size) / 2.0)), int(round((new_width - size) / 2.0))
        pixels = np.asarray(image, dtype=np.uint8)[top : top + size, left : left + size]
        chw = np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32)
        return (chw / np.float32(255.0) - self.mean) / self.std
