"""Query views: real sketches drawn small or in a corner are framed to their strokes; photos are not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.core.library_helpers import first_sketch
from zssbir_core.query_views import MARGIN, embed_queries, framed, views


def on_page(sketch: Image.Image, side: int, scale: float, corner: tuple[int, int]) -> Image.Image:
    """``sketch`` shrunk to ``scale`` of ``side`` and put with its top-left at ``corner`` of a white page."""
    page = Image.new("RGB", (side, side), "white")
    small = sketch.convert("RGB").resize((round(side * scale),) * 2, Image.Resampling.LANCZOS)
    page.paste(small, corner)
    return page


def ink_box(image: Image.Image) -> tuple[int, int, int, int]:
    grey = np.asarray(image.convert("L"))
    rows, cols = np.flatnonzero((grey < 160).any(axis=1)), np.flatnonzero((grey < 160).any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


@pytest.fixture(scope="module")
def castle(sketchy_root: Path) -> Image.Image:
    with Image.open(first_sketch(sketchy_root, "castle")) as image:
        return image.convert("RGB")


@pytest.fixture(scope="module")
def photo(sketchy_root: Path) -> Image.Image:
    with Image.open(sorted((sketchy_root / "photo" / "castle").glob("*.jpg"))[0]) as image:
        return image.convert("RGB")


def test_a_small_sketch_in_a_corner_is_framed_to_its_strokes(castle: Image.Image) -> None:
    page = on_page(castle, 256, 0.3, (0, 0))
    frame = framed(page)
    assert frame is not None and frame.size[0] == frame.size[1]
    left, top, right, bottom = ink_box(frame)
    assert max(right - left, bottom - top) / frame.size[0] == pytest.approx(1 / (1 + 2 * MARGIN), abs=0.03)
    centre = ((left + right) / 2 / frame.size[0], (top + bottom) / 2 / frame.size[1])
    assert centre == pytest.approx((0.5, 0.5), abs=0.03)
    assert frame.getpixel((0, 0)) == (255, 255, 255), "the page's outside is padded with white"
    assert views(page) == [page, frame]


def test_photos_blank_pages_blurred_sketches_and_sketches_that_fill_the_page_keep_one_view(
        castle: Image.Image, photo: Image.Image) -> None:
    assert framed(photo) is None
    assert framed(Image.new("RGB", (256, 256), "white")) is None
    assert framed(on_page(castle, 256, 0.95, (6, 6))) is None
    blurred = on_page(castle, 256, 0.5, (0, 0)).resize((40, 40), Image.Resampling.BOX).resize((256, 256))
    assert framed(on_page(castle, 256, 0.5, (0, 0))) is not None and framed(blurred) is None, (
        "a small image enlarged is not magnified further")
    assert views(photo) == [photo]


def test_query_vectors_average_the_views_and_find_the_sketch_in_a_corner(
        castle: Image.Image, photo: Image.Image) -> None:
    from zssbir_core.models import load_model

    embedder = load_model("default")
    corner = on_page(castle, 256, 0.35, (150, 10))
    both = embed_queries(embedder, [photo, corner, castle])
    plain = embedder.embed_images([photo, corner, castle])
    np.testing.assert_allclose(both[0], plain[0], atol=1e-6)
    two = embedder.embed_images([corner, framed(corner)]).sum(axis=0)
    np.testing.assert_allclose(both[1], two / np.linalg.norm(two), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(both, axis=1), 1.0, atol=1e-5)
    assert both[1] @ both[2] > plain[1] @ plain[2] + 0.05, "the corner sketch moves towards the full-page one"
    assert embed_queries(embedder, []).shape == (0, embedder.embedding_dim)
