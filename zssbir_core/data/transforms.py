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


class SketchStyleJitter:
    """With probability ``p``, move a drawing towards another style: coarse (shrunk to 32-96 px and
    enlarged: thick, blurred lines without detail), blurred, heavy strokes (a 5x5 min filter), or
    unfinished (one to three white patches of 10-30 % of the side erase parts of it)."""

    def __init__(self, p: float = 0.3) -> None:
        self.p = p

    def __call__(self, image: Image.Image) -> Image.Image:
        if random.random() >= self.p:
            return image
        style = random.randrange(4)
        width, height = image.size
        if style == 0:
            small = random.randint(32, 96)
            shrunk = image.resize((small, small), Image.Resampling.BOX)
            return shrunk.resize((width, height), Image.Resampling.BILINEAR)
        if style == 1:
            return image.filter(ImageFilter.GaussianBlur(random.uniform(0.8, 2.0)))
        if style == 2:
            return image.filter(ImageFilter.MinFilter(5))
        erased = image.copy()
        for _ in range(random.randint(1, 3)):
            w, h = (int(random.uniform(0.1, 0.3) * side) for side in (width, height))
            x, y = random.randint(0, width - w), random.randint(0, height - h)
            erased.paste((255,) * len(erased.getbands()), (x, y, x + w, y + h))
        return erased

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


def train_transform(
    preprocessing: Preprocessing, domain: int, *, sketch_style_p: float = 0.0
) -> Callable[[Image.Image], torch.Tensor]:
    """Random augmentation for ``domain`` (PHOTO or SKETCH) ending in a normalised (3, S, S) tensor;
    ``sketch_style_p`` is the share of sketches moved towards another style (``SketchStyleJitter``)."""
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
                *([SketchStyleJitter(sketch_style_p)] if sketch_style_p > 0 else []),
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
