"""Query views: a sketch is embedded as drawn and framed to its strokes, and the two averaged.

People draw small, off-centre or in a corner of the canvas, while the model learnt from sketches
that fill their page. A sketch on a white page is therefore also embedded cropped to a square
around its strokes (with a margin, on white), and the query vector is the normalised mean of the
two views. On held-out classes this adds 0.015 to 0.022 mAP to Sketchy sketches and 0.020 to
0.027 in a library that also holds other subjects (``docs/benchmarks/model_sweep.md``, round 3).
Photos, blurred sketches and sketches whose strokes already fill the page keep their single view.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from zssbir_core.models.embedder import Embedder, l2_normalize

PAPER_SHARE = 0.7
"""An image counts as a sketch when at least this share of its pixels is near white: the sketches
and doodles of ``shared/data`` are all above 0.72, 99 % of its photos below 0.61."""

PAPER_LEVEL = 230
"""Grey level from which a pixel counts as paper."""

INK_LEVEL = 160
"""Grey level below which a pixel counts as a stroke."""

SOFT_EDGES = 1.0
"""Grey fringe pixels (between ``INK_LEVEL`` and ``PAPER_LEVEL``) per stroke pixel above which a
sketch counts as blurred, e.g. a small image enlarged: it is not magnified further. Crisp lines have
under 1 at every pen width of the canvas; sketches shrunk to 40 px and enlarged have 3 (median)."""

MARGIN = 0.08
"""White space added on each side of the strokes' square, as a share of its side."""

FILLED = 0.85
"""Strokes whose square covers this share of the page's side already fill it: no second view."""


def framed(image: Image.Image) -> Image.Image | None:
    """``image`` cropped to a square around its strokes (``MARGIN`` added, padded with white), or
    None when it is not a sketch on white paper, is blank or blurred, or its strokes already fill
    the page."""
    grey = np.asarray(image.convert("L"))
    paper = grey >= PAPER_LEVEL
    ink = grey < INK_LEVEL
    if grey.size == 0 or paper.mean() < PAPER_SHARE:
        return None
    strokes = int(ink.sum())
    if strokes == 0 or grey.size - paper.sum() - strokes > SOFT_EDGES * strokes:
        return None
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    side = round(max(bottom - top, right - left) * (1 + 2 * MARGIN))
    if side >= FILLED * min(grey.shape):
        return None
    x, y = round((left + right - side) / 2), round((top + bottom - side) / 2)
    page = Image.new("RGB", (side, side), "white")
    page.paste(image.convert("RGB"), (-x, -y))
    return page


def views(image: Image.Image) -> list[Image.Image]:
    """The images a query is embedded as: itself, and its framed copy when it has one."""
    frame = framed(image)
    return [image] if frame is None else [image, frame]


def embed_queries(embedder: Embedder, images: Sequence[Image.Image], batch_size: int = 32) -> np.ndarray:
    """(len(images), D) L2-normalised query vectors: the normalised mean of each image's ``views``."""
    owners: list[int] = []
    flat: list[Image.Image] = []
    for index, image in enumerate(images):
        for view in views(image):
            owners.append(index)
            flat.append(view)
    sums = np.zeros((len(images), embedder.embedding_dim), np.float32)
    for start in range(0, len(flat), batch_size):
        np.add.at(sums, owners[start:start + batch_size], embedder.embed_images(flat[start:start + batch_size]))
    return l2_normalize(sums)
