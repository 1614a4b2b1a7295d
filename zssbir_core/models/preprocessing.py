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


def _aa_weights(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The taps of an antialiased bilinear resize from ``in_size`` to ``out_size`` pixels: for each
    output pixel the input pixels it reads (``(out_size, taps)`` indices) and their integer weights,
    and the weights' fixed-point precision in bits. This is torch's uint8 arithmetic
    (``interpolate(..., antialias=True)``), itself Pillow-SIMD's: float64 triangle weights
    normalised per output pixel, then scaled to int16 with as many bits as the largest weight allows."""
    scale = in_size / out_size
    support = scale if scale >= 1.0 else 1.0
    invscale = 1.0 / scale if scale >= 1.0 else 1.0
    max_taps = int(np.ceil(support)) * 2 + 1
    indices = np.zeros((out_size, max_taps), dtype=np.intp)
    weights = np.zeros((out_size, max_taps), dtype=np.float64)
    for i in range(out_size):
        center = scale * (i + 0.5)
        xmin = max(int(center - support + 0.5), 0)
        xsize = min(max(min(int(center + support + 0.5), in_size) - xmin, 0), max_taps)
        taps = np.arange(xsize, dtype=np.float64)
        w = np.maximum(0.0, 1.0 - np.abs((taps + xmin - center + 0.5) * invscale))
        total = w.sum()
        indices[i, :xsize] = np.arange(xmin, xmin + xsize)
        weights[i, :xsize] = w / total if total != 0.0 else w
    w_max = weights.max()
    precision = 0
    while precision < 22 and int(0.5 + w_max * (1 << (precision + 1))) < (1 << 15):
        precision += 1
    scaled = weights * (1 << precision)
    return indices, np.where(scaled < 0, np.trunc(scaled - 0.5), np.trunc(scaled + 0.5)), precision


def _resample(pixels: np.ndarray, out_size: int, axis: int) -> np.ndarray:
    """Resize uint8 ``pixels`` (H, W, C) along ``axis`` (0 or 1) with rounding as torch does.
    The sums are of products of small integers, exact in float64 in any order; they are taken tap
    by tap rather than through BLAS, which the indexer's decoding threads must not call at once
    (a multithreaded BLAS called from several threads crashed the process)."""
    indices, weights, precision = _aa_weights(pixels.shape[axis], out_size)
    moved = np.moveaxis(pixels, axis, 0)
    summed = np.full((out_size, *moved.shape[1:]), float(1 << (precision - 1)))
    for tap in range(indices.shape[1]):
        summed += weights[:, tap, None, None] * moved[indices[:, tap]]
    out = np.clip(np.floor(summed / float(1 << precision)), 0, 255).astype(np.uint8)
    return np.moveaxis(out, 0, axis)


class InputTransform:
    """``Preprocessing.transform``: the same arithmetic as torchvision's ``v2`` ``ToImage,
    Resize(S, antialias=True), CenterCrop(S), ToDtype(float32, scale=True), Normalize`` (a test
    holds them equal within 1e-5), written with numpy alone so that no torch is needed to embed.
    A class, not a closure, so that data-loader worker processes can pickle it."""

    def __init__(self, size: int, mean: tuple[float, float, float], std: tuple[float, float, float]) -> None:
        self.size = size
        self.mean = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)

    def __call__(self, image: Image.Image) -> np.ndarray:
        size = self.size
        pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
        height, width = pixels.shape[:2]
        if width <= height:
            new_width, new_height = size, int(size * height / width)
        else:
            new_width, new_height = int(size * width / height), size
        if new_width != width:  # horizontal pass first, as torch and Pillow do
            pixels = _resample(pixels, new_width, 1)
        if new_height != height:
            pixels = _resample(pixels, new_height, 0)
        top, left = int(round((new_height - size) / 2.0)), int(round((new_width - size) / 2.0))
        pixels = pixels[top : top + size, left : left + size]
        chw = np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32)
        return (chw / np.float32(255.0) - self.mean) / self.std
