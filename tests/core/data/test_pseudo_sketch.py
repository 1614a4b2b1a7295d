"""Pseudo-sketches drawn from photos: thin black strokes on white, where the outlines are."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from zssbir_core.data.pseudo_sketch import PseudoSketchTransform, SketchStyle, photo_to_sketch


def _disc_photo(size: int = 200) -> Image.Image:
    """A dark disc on a light, slightly noisy background (radius 60, centre 100, 100)."""
    rng = np.random.default_rng(0)
    pixels = np.clip(200 + rng.normal(0, 4, (size, size, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, mode="RGB")
    ImageDraw.Draw(image).ellipse((40, 40, 160, 160), fill=(40, 60, 90))
    return image


def _ink(drawing: Image.Image) -> np.ndarray:
    return np.asarray(drawing.convert("L")) < 128


def test_drawing_is_binary_black_on_white_at_work_size() -> None:
    drawing = photo_to_sketch(_disc_photo(400).resize((400, 300)), work_size=256)
    assert drawing.mode == "RGB"
    assert max(drawing.size) == 256 and drawing.size == (256, 192)
    values = np.unique(np.asarray(drawing))
    assert set(values.tolist()) <= {0, 255}
    ink = _ink(drawing)
    assert 0.005 < ink.mean() < 0.2, "mostly white paper with some strokes"


def test_strokes_follow_the_outline_and_leave_flat_areas_blank() -> None:
    drawing = photo_to_sketch(_disc_photo(), work_size=200, style=SketchStyle(stroke_width=1))
    ys, xs = np.nonzero(_ink(drawing))
    radius = np.hypot(ys - 100, xs - 100)
    assert len(radius) > 200, "the whole circle is drawn"
    assert np.mean(np.abs(radius - 60) <= 4) > 0.95, "strokes lie on the disc's outline"
    assert np.ptp(np.quantile(np.arctan2(ys - 100, xs - 100), [0.05, 0.95])) > 5.0, "all around it"


def test_stroke_width_grows_the_ink() -> None:
    photo = _disc_photo()
    widths = [_ink(photo_to_sketch(photo, style=SketchStyle(stroke_width=w))).sum() for w in (1, 2, 3)]
    assert widths[0] < widths[1] < widths[2]


def test_a_flat_photo_gives_a_blank_page() -> None:
    drawing = photo_to_sketch(Image.new("RGB", (120, 80), (90, 140, 30)))
    assert not _ink(drawing).any()


def test_deterministic_without_rng_and_reproducible_with_a_seed() -> None:
    photo = _disc_photo()
    assert np.array_equal(np.asarray(photo_to_sketch(photo)), np.asarray(photo_to_sketch(photo)))
    first = photo_to_sketch(photo, rng=random.Random(3))
    again = photo_to_sketch(photo, rng=random.Random(3))
    assert np.array_equal(np.asarray(first), np.asarray(again))
    styles = {SketchStyle.sample(random.Random(seed)) for seed in range(20)}
    assert len(styles) == 20, "each seed draws its own style"


def test_transform_hands_a_drawing_to_the_sketch_transform() -> None:
    seen: list[Image.Image] = []

    def sketch_transform(image: Image.Image) -> tuple[int, int]:
        seen.append(image)
        return image.size

    transform = PseudoSketchTransform(sketch_transform, seed=1, work_size=128)
    assert transform(_disc_photo()) == (128, 128)
    assert transform(_disc_photo()) == (128, 128)
    assert set(np.unique(np.asarray(seen[0])).tolist()) <= {0, 255}
    assert not np.array_equal(np.asarray(seen[0]), np.asarray(seen[1])), "fresh style per call"


@pytest.mark.parametrize("klass", ["bicycle", "teapot", "cat"])
def test_real_photos_look_like_sketches(sketchy_root, klass: str) -> None:
    """On real photos the ink covers about as much paper as in the real sketches (2-15 %)."""
    photos = sorted((sketchy_root / "photo" / klass).glob("*.jpg"))[:3]
    sketches = sorted((sketchy_root / "sketch" / klass).glob("*.png"))[:10]
    drawn = [_ink(photo_to_sketch(Image.open(p).convert("RGB"))).mean() for p in photos]
    real = [_ink(Image.open(p)).mean() for p in sketches]
    assert all(0.02 < value < 0.15 for value in drawn), drawn
    assert 0.02 < float(np.median(real)) < 0.15


def test_transform_keeps_a_few_drawings_per_photo_and_reuses_them() -> None:
    seen: list[bytes] = []
    transform = PseudoSketchTransform(lambda image: seen.append(image.tobytes()), seed=2,
                                      work_size=96, variants_per_photo=3)
    photo, other = _disc_photo(), _disc_photo(150)
    for _ in range(12):
        transform(photo)
    assert transform.drawings_made == 3 and len(set(seen)) == 3
    transform(other)
    assert transform.drawings_made == 4, "another photo gets its own drawings"

    fresh = PseudoSketchTransform(lambda image: None, variants_per_photo=0, work_size=96)
    for _ in range(3):
        fresh(photo)
    assert fresh.drawings_made == 3

    fixed = PseudoSketchTransform(lambda image: image.tobytes(), augment=False, work_size=96)
    assert fixed(photo) == fixed(photo) and fixed.drawings_made == 1, "evaluation draws each photo once"
