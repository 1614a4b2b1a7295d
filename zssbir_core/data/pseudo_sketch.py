"""Sketch-like line drawings made from photos, for training on photos-only data.

Most people have photos of their things but no sketches of them. The trainer needs both domains,
so it draws pseudo-sketches from the photos: object contours as thin black strokes on white,
binarised, at about the scale and stroke width of the Sketchy sketches (256 px, 2-3 px strokes).

The drawing is a Canny-style edge detector tuned to favour long outlines over texture:

1. grey, shrunk so the longer side is ``work_size``; a median filter flattens fine texture;
2. Gaussian blur (``sigma``), Sobel gradients, non-maximum suppression along the gradient;
3. hysteresis: strong edges (above a high percentile of the suppressed gradient map, so it adapts
   to the photo's contrast; about 2% of the pixels) grow along connected weaker ones; isolated
   weak texture is dropped;
4. strokes are thickened to ``stroke_width`` and, with ``rng``, a few pieces are left out so that
   the drawing looks hand-made rather than traced.

Before step 2's suppression, edges are weakened towards the borders (``center_bias``): a sketch
draws its subject only, and photos tend to centre theirs. Measured with the ImageNet Lite0
features at 128 px on ten sketchy-seen100 classes, real sketches retrieve the drawings of their
class with mAP@all 0.187 with this bias against 0.166 without (``docs/benchmarks/finetune.md``).

With an ``rng`` every parameter is drawn from a range (augmentation); without one the output is
deterministic. Only numpy and Pillow are used: the whole pipeline is a few vectorised array
operations (about 30 ms for a 256 px photo on one core of this 2-core VM).

``PseudoSketchTransform`` wraps a sketch-domain training transform so that a photo goes in and a
sketch-domain tensor comes out; ``with_pseudo_sketches`` adds a SKETCH-domain sample for each photo
of a photos-only ``FolderDataset`` (same path, domain ``SKETCH``), which ``ImageDataset`` opens as a
photo and hands to the SKETCH transform.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

__all__ = [
    "SketchStyle",
    "photo_to_sketch",
    "PseudoSketchTransform",
    "with_pseudo_sketches",
]


@dataclasses.dataclass(frozen=True)
class SketchStyle:
    """Parameters of one drawing; ``sample(rng)`` draws a random one for augmentation."""

    sigma: float = 2.5
    """Gaussian blur before the gradients, in pixels at ``work_size``: larger keeps only outlines."""
    high_percentile: float = 98.0
    """Ridge pixels above this percentile of the (suppressed) gradient map seed a stroke."""
    low_ratio: float = 0.5
    """A stroke grows through pixels above ``low_ratio`` x the seed threshold."""
    stroke_width: int = 2
    """Stroke width in pixels at ``work_size`` (1, 2 or 3)."""
    dropout: float = 0.0
    """Fraction of the drawing left out in short gaps (0 = a complete tracing)."""
    median_size: int = 5
    """Median filter size (odd; 1 = none) that flattens fine texture before the edges."""
    center_bias: float = 0.9
    """0 = none; up to 1: edges are weakened towards the borders (photos tend to centre their
    subject, sketches draw only the subject), by a Gaussian of half the image size."""

    @staticmethod
    def sample(rng: random.Random) -> "SketchStyle":
        """A random style within ranges that still look like a sketch."""
        return SketchStyle(
            sigma=rng.uniform(2.0, 3.5),
            high_percentile=rng.uniform(97.5, 98.8),
            low_ratio=rng.uniform(0.4, 0.6),
            stroke_width=rng.choice((1, 2, 2, 3)),
            dropout=rng.uniform(0.0, 0.15),
            median_size=rng.choice((3, 5, 5, 7)),
            center_bias=rng.uniform(0.6, 1.0),
        )


def photo_to_sketch(
    image: Image.Image,
    *,
    rng: random.Random | None = None,
    style: SketchStyle | None = None,
    work_size: int = 256,
) -> Image.Image:
    """Draw ``image`` as black strokes on white (an RGB image whose longer side is ``work_size``).

    ``rng`` draws a random ``SketchStyle`` (and the gaps of its dropout) for augmentation;
    ``style`` fixes the parameters instead; with neither, the default style is used.
    """
    if rng is not None and style is None:
        style = SketchStyle.sample(rng)
    style = style or SketchStyle()
    grey = _work_image(image, work_size, style.median_size)
    pixels = np.asarray(grey.filter(ImageFilter.GaussianBlur(style.sigma)), dtype=np.float32)
    magnitude, direction = _sobel(pixels)
    if style.center_bias > 0:
        magnitude *= _center_weight(magnitude.shape, style.center_bias)
    thin = _non_maximum_suppression(magnitude, direction)
    strokes = _hysteresis(thin, style.high_percentile, style.low_ratio)
    if rng is not None and style.dropout > 0:
        strokes &= _keep_mask(strokes.shape, style.dropout, rng)
    strokes = _thicken(strokes, style.stroke_width)
    drawing = np.where(strokes, 0, 255).astype(np.uint8)
    return Image.fromarray(drawing, mode="L").convert("RGB")


class PseudoSketchTransform:
    """A photo in, a sketch-domain training tensor out: ``sketch_transform(photo_to_sketch(photo))``.

    With ``augment``, each drawing has a random style, seeded from ``seed``, a call counter and,
    inside a DataLoader worker, the worker's seed (which torch derives from the main process's
    generator for each worker and epoch): runs with the same seeds see the same drawings.

    Drawing costs more than the rest of a sample's loading, so up to ``variants_per_photo``
    drawings (each in its own random style) are kept per photo, and later calls pick one of them
    at random; ``sketch_transform``'s own augmentation (crop, flip, stroke width, ...) still runs
    on every call. At most ``cache_limit`` photos are remembered (a drawing is kept as a 1-bit image:
    8 KiB at 256 px, so 32 KiB per photo); ``variants_per_photo=0`` draws afresh every time.
    """

    def __init__(self, sketch_transform: Callable[[Image.Image], Any], *, seed: int = 0,
                 augment: bool = True, work_size: int = 256, variants_per_photo: int = 4,
                 cache_limit: int = 4096) -> None:
        self.sketch_transform = sketch_transform
        self.seed = seed
        self.augment = augment
        self.work_size = work_size
        self.variants_per_photo = variants_per_photo
        self.cache_limit = cache_limit
        self.drawings_made = 0
        self._calls = 0
        self._cache: dict[bytes, list[Image.Image]] = {}

    def __call__(self, photo: Image.Image) -> Any:
        rng = None
        if self.augment:
            self._calls += 1
            rng = random.Random(hash((self.seed, _worker_seed(), self._calls)))
        return self.sketch_transform(self._drawing(photo, rng))

    def _drawing(self, photo: Image.Image, rng: random.Random | None) -> Image.Image:
        limit = self.variants_per_photo if rng is not None else 1
        if limit <= 0:
            return self._draw(photo, rng)
        key = hashlib.blake2b(photo.tobytes(), digest_size=16, person=photo.mode.encode()[:16]).digest() \
            + repr(photo.size).encode()
        drawings = self._cache.get(key)
        if drawings is None:
            if len(self._cache) >= self.cache_limit:
                return self._draw(photo, rng)
            drawings = self._cache[key] = []
        if len(drawings) < limit:
            drawings.append(self._draw(photo, rng).convert("1", dither=Image.Dither.NONE))
            return drawings[-1].convert("RGB")
        choice = rng.randrange(len(drawings)) if rng is not None else 0
        return drawings[choice].convert("RGB")

    def _draw(self, photo: Image.Image, rng: random.Random | None) -> Image.Image:
        self.drawings_made += 1
        return photo_to_sketch(photo, rng=rng, work_size=self.work_size)


def with_pseudo_sketches(dataset: Any) -> Any:
    """A copy of a photos-only ``FolderDataset`` with one SKETCH-domain sample per photo.

    The new samples keep the photo's path and label and carry ``domain=SKETCH``; pair the
    dataset with a ``PseudoSketchTransform`` as the SKETCH transform so that they are drawn on
    the fly. Raises ``ValueError`` if the dataset already holds real sketches (mixing real and
    drawn sketches in one SKETCH transform would draw over the real ones).
    """
    from zssbir_core.data.domains import SKETCH

    if dataset.sketches():
        raise ValueError("with_pseudo_sketches() expects a photos-only dataset; this one has sketches")
    drawn = [dataclasses.replace(sample, domain=SKETCH) for sample in dataset.photos()]
    return dataclasses.replace(dataset, samples=list(dataset.samples) + drawn)


def with_drawn_sketches(dataset: Any, fraction: float) -> tuple[Any, frozenset]:
    """A copy of ``dataset`` (with real sketches) where drawings of its photos make up about
    ``fraction`` of each class's SKETCH-domain samples, and the set of those photos' paths.

    Each photo is listed as a SKETCH sample as often as needed to reach the fraction (the
    ``PseudoSketchTransform`` draws it in a new random style each time); classes without photos
    get none.
    """
    from zssbir_core.data.domains import SKETCH

    if not 0.0 <= fraction < 1.0:
        raise ValueError("fraction must be in [0, 1)")
    sketches: dict[int, int] = {}
    for sample in dataset.sketches():
        sketches[sample.label] = sketches.get(sample.label, 0) + 1
    photos: dict[int, list[Any]] = {}
    for sample in dataset.photos():
        photos.setdefault(sample.label, []).append(sample)
    drawn = []
    for label, class_photos in sorted(photos.items()):
        wanted = round(fraction * sketches.get(label, 0) / (1.0 - fraction))
        drawn += [dataclasses.replace(class_photos[i % len(class_photos)], domain=SKETCH) for i in range(wanted)]
    paths = frozenset(sample.path for sample in drawn)
    return dataclasses.replace(dataset, samples=list(dataset.samples) + drawn), paths


def _worker_seed() -> int:
    """The DataLoader worker's seed, or 0 in the main process (or where torch is absent)."""
    try:
        from torch.utils.data import get_worker_info
    except ImportError:
        return 0
    info = get_worker_info()
    return int(info.seed) if info is not None else 0


def _work_image(image: Image.Image, work_size: int, median_size: int) -> Image.Image:
    """Grey, longer side ``work_size``, texture flattened by a median filter."""
    grey = image.convert("L")
    scale = work_size / max(grey.size)
    if scale != 1.0:
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC)
    if median_size > 1:
        grey = grey.filter(ImageFilter.MedianFilter(median_size))
    return grey


def _sobel(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient magnitude and direction bin (0: horizontal gradient, 1: 45, 2: vertical, 3: 135)."""
    p = np.pad(pixels, 1, mode="edge")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    magnitude = np.hypot(gx, gy)
    angle = np.rad2deg(np.arctan2(gy, gx)) % 180.0
    direction = (np.floor((angle + 22.5) / 45.0).astype(np.int8)) % 4
    return magnitude, direction


_NEIGHBOURS = {0: (0, 1), 1: (1, 1), 2: (1, 0), 3: (1, -1)}


def _shift(array: np.ndarray, dy: int, dx: int, fill: Any = 0) -> np.ndarray:
    """``array`` moved by (dy, dx): ``out[y, x] = array[y - dy, x - dx]``, ``fill`` at the border."""
    out = np.full_like(array, fill)
    h, w = array.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = array[ys, xs]
    return out


def _non_maximum_suppression(magnitude: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Keep a pixel only where it is a maximum across the edge (one-pixel-wide ridges)."""
    keep = np.zeros(magnitude.shape, dtype=bool)
    for bin_, (dy, dx) in _NEIGHBOURS.items():
        ahead = _shift(magnitude, -dy, -dx)
        behind = _shift(magnitude, dy, dx)
        keep |= (direction == bin_) & (magnitude >= ahead) & (magnitude > behind)
    return np.where(keep, magnitude, 0.0).astype(np.float32)


def _dilate(mask: np.ndarray) -> np.ndarray:
    """3x3 binary dilation."""
    grown = mask.copy()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                grown |= _shift(mask, dy, dx, False)
    return grown


def _hysteresis(thin: np.ndarray, high_percentile: float, low_ratio: float,
                max_steps: int = 400) -> np.ndarray:
    """Strong ridge pixels, grown along 8-connected weaker ridge pixels."""
    if not np.any(thin > 0):
        return np.zeros(thin.shape, dtype=bool)
    # The percentile adapts to contrast; the floor (a fraction of the strongest ridges) keeps a
    # photo with few edges from drawing its noise.
    high = max(float(np.percentile(thin, high_percentile)), 0.25 * float(thin.max()))
    strong = thin >= high
    weak = thin >= high * low_ratio
    for _ in range(max_steps):
        grown = _dilate(strong) & weak
        if np.array_equal(grown, strong):
            break
        strong = grown
    return strong


def _center_weight(shape: tuple[int, int], strength: float) -> np.ndarray:
    """1 at the centre, falling to ``1 - strength`` (times a Gaussian tail) towards the borders."""
    ys = (np.arange(shape[0], dtype=np.float32) - (shape[0] - 1) / 2) / (shape[0] / 2)
    xs = (np.arange(shape[1], dtype=np.float32) - (shape[1] - 1) / 2) / (shape[1] / 2)
    gauss = np.exp(-(ys[:, None] ** 2 + xs[None, :] ** 2) / (2 * 0.5 ** 2))
    return (1.0 - strength) + strength * gauss


def _keep_mask(shape: tuple[int, int], dropout: float, rng: random.Random) -> np.ndarray:
    """A mask that removes about ``dropout`` of the image in short blob-shaped gaps."""
    cell = 12
    grid = np.random.default_rng(rng.getrandbits(32)).random(
        (shape[0] // cell + 2, shape[1] // cell + 2))
    field = Image.fromarray((grid * 255).astype(np.uint8), mode="L").resize(
        ((shape[1] // cell + 2) * cell, (shape[0] // cell + 2) * cell), Image.Resampling.BILINEAR)
    values = np.asarray(field)[: shape[0], : shape[1]]
    return values >= np.percentile(values, dropout * 100.0)


def _thicken(strokes: np.ndarray, width: int) -> np.ndarray:
    """Lines ``width`` pixels wide (1: as detected, 2: grown right and down, 3: 3x3 dilation)."""
    if width <= 1:
        return strokes
    if width == 2:
        return strokes | _shift(strokes, 0, 1, False) | _shift(strokes, 1, 0, False) \
            | _shift(strokes, 1, 1, False)
    return _dilate(strokes)
