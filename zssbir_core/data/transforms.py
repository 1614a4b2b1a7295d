"""Training augmentation for line drawings and for photos, and the plain evaluation transform.

Sketches are black strokes on white: they get geometric jitter (small rotation, shift, scale and
shear, filled with white), a horizontal flip, and a random stroke-width change (thicker or
thinner strokes), but no colour changes. Photos get the usual random resized crop, flip, colour
jitter and occasional greyscale (which also narrows the domain gap).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import torch
from PIL import Image, ImageFilter
from torchvision.transforms import v2 as T

from zssbir_core.data.domains import PHOTO, SKETCH
from zssbir_core.models.preprocessing import Preprocessing


class StrokeWidthJitter:
    """With probability ``p``, thicken or thin the dark strokes.

    Thickening is a 3x3 min filter (a pixel more on each side). Thinning works at twice the
    resolution (a half pixel less on each side): a plain 3x3 max filter would erase the one- or
    two-pixel strokes of most sketches.
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, image: Image.Image) -> Image.Image:
        if random.random() >= self.p:
            return image
        if random.random() < 0.5:
            return image.filter(ImageFilter.MinFilter(3))
        width, height = image.size
        doubled = image.resize((2 * width, 2 * height), Image.Resampling.BILINEAR)
        return doubled.filter(ImageFilter.MaxFilter(3)).resize((width, height), Image.Resampling.BILINEAR)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


def train_transform(
    preprocessing: Preprocessing, domain: int
) -> Callable[[Image.Image], torch.Tensor]:
    """Random augmentation for ``domain`` (PHOTO or SKETCH) ending in a normalised (3, S, S) tensor."""
    size = preprocessing.image_size
    finish = [
        T.ToImage(),
        T.ToDtype(torch.float32, scale=True),
        T.Normalize(preprocessing.mean, preprocessing.std),
    ]
    if domain == SKETCH:
        return T.Compose(
            [
                T.Resize(size, antialias=True),
                T.CenterCrop(size),
                StrokeWidthJitter(p=0.5),
                T.RandomAffine(
                    degrees=10, translate=(0.08, 0.08), scale=(0.8, 1.05), shear=5, fill=255
                ),
                T.RandomHorizontalFlip(),
                *finish,
            ]
        )
    if domain == PHOTO:
        return T.Compose(
            [
                T.RandomResizedCrop(size, scale=(0.5, 1.0), antialias=True),
                T.RandomHorizontalFlip(),
                T.RandomApply([T.ColorJitter(0.3, 0.3, 0.3, 0.05)], p=0.8),
                T.RandomGrayscale(p=0.1),
                *finish,
            ]
        )
    raise ValueError(f"unknown domain {domain!r}")


class EvalTransform:
    """``Preprocessing.transform`` (numpy, as at inference) with a tensor out, as the training
    transforms give; a class so that data-loader worker processes can pickle it."""

    def __init__(self, preprocessing: Preprocessing) -> None:
        self.transform = preprocessing.transform()

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return torch.from_numpy(self.transform(image))


def eval_transform(preprocessing: Preprocessing) -> Callable[[Image.Image], torch.Tensor]:
    """Deterministic: shorter side to S, centre crop, normalise (as at inference)."""
    return EvalTransform(preprocessing)
