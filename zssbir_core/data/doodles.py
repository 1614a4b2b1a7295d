"""Quick, Draw! doodles as sketch-domain training samples, drawn the way the app's canvas draws.

A doodle is a list of strokes, each an ``(n, 2)`` array of points in the order they were drawn.
``fit_to_page`` places it on a square page in page units (0..1), centred with a margin, as a user
fills the canvas; ``render_strokes`` draws it as the desktop canvas does (``zssbir_desktop/canvas.py``:
black round-capped strokes on white, ``width`` in pixels of a 512 px reference page, each stroke a
smooth path of quadratic curves through the midpoints of its samples, anti-aliased), without Qt:
the curves are sampled and drawn with Pillow at three times the size, then shrunk.

``DoodleAugment`` changes a doodle the ways people's drawings differ from Quick, Draw!'s and from
each other: only its first strokes (a drawing in progress: the app searches after every stroke),
a few later strokes left out, shaky points, fewer points (simplified), pen width, size on the page.

``with_doodles`` adds a SKETCH-domain ``Sample`` per doodle of the dataset's classes (its path is
the doodle's PNG in ``<folder>/sketch/<class>/<key_id>.png``, so the dataset fingerprint covers it),
repeated so that doodles make about ``fraction`` of each such class's sketch samples;
``ImageDataset`` draws the strokes instead of opening that PNG.
"""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from zssbir_core.errors import DatasetError

REFERENCE_SIDE = 512.0
"""Stroke widths are pixels of a page this wide (the canvas's convention)."""
CANVAS_PEN_WIDTH = 6.0
"""The canvas's default pen width, in reference pixels: the middle of the widths the doodles are
trained at (``DoodleAugment``). Held-out doodles replayed at 6 instead of 4 score +0.008 mAP
plain, +0.018 with query expansion on the 80-class v3, and +0.012 / +0.021 on the 80-class v2
(``docs/benchmarks/model_sweep.md``)."""
PAGE_MARGIN = 1.0 / 16.0
"""Margin of a fitted doodle, in page units (16 px of 256, as quickdraw-seen's PNGs)."""
_SUPERSAMPLE = 3
_CURVE_STEPS = 6

Strokes = list[np.ndarray]


def read_doodles(folder: Path, class_name: str) -> dict[str, Strokes]:
    """The doodles of ``class_name`` in ``folder/strokes/<class>.ndjson``: key_id -> strokes
    (an empty dict when the class has no file)."""
    path = Path(folder) / "strokes" / f"{class_name}.ndjson"
    if not path.is_file():
        return {}
    doodles = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            strokes = [np.column_stack([stroke[0], stroke[1]]).astype(np.float32) for stroke in record["drawing"]]
            doodles[str(record["key_id"])] = [s for s in strokes if len(s)]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise DatasetError(f"{path}, line {number}: not a Quick, Draw! drawing ({error})") from None
    return doodles


def fit_to_page(strokes: Strokes, margin: float = PAGE_MARGIN) -> Strokes:
    """``strokes`` scaled (aspect kept) and centred into the page square less ``margin`` a side."""
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    scale = (1.0 - 2.0 * margin) / max(float((high - low).max()), 1e-6)
    offset = 0.5 - (low + high) / 2.0 * scale
    return [stroke * scale + offset for stroke in strokes]


def _smooth_path(points: np.ndarray) -> np.ndarray:
    """The canvas's stroke path: from the first sample, quadratic curves with each sample as
    control point ending at the midpoint to the next, then a line to the last sample."""
    if len(points) < 2:
        return points
    parts = [points[:1]]
    start = points[0]
    t = np.linspace(0.0, 1.0, _CURVE_STEPS + 1)[1:, None]
    for previous, current in zip(points[:-1], points[1:], strict=True):
        end = (previous + current) / 2.0
        parts.append((1 - t) ** 2 * start + 2 * (1 - t) * t * previous + t**2 * end)
        start = end
    parts.append(points[-1:])
    return np.concatenate(parts)


def render_strokes(strokes: Strokes, side: int = 256, width: float = CANVAS_PEN_WIDTH) -> Image.Image:
    """``strokes`` (page units) drawn black on white into a ``side`` px RGB image, as the canvas draws."""
    big = side * _SUPERSAMPLE
    pen = max(width * big / REFERENCE_SIDE, 1.0)
    image = Image.new("L", (big, big), 255)
    draw = ImageDraw.Draw(image)
    radius = pen / 2.0
    for stroke in strokes:
        path = _smooth_path(np.asarray(stroke, dtype=np.float64)) * big
        if len(path) > 1:
            draw.line([tuple(p) for p in path], fill=0, width=max(int(round(pen)), 1), joint="curve")
        for x, y in (path[0], path[-1]):  # round caps
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=0)
    return image.resize((side, side), Image.Resampling.BOX).convert("RGB")


def first_strokes(strokes: Strokes, share: float) -> Strokes:
    """The first ``share`` of the strokes (at least one), as a drawing in progress shows them."""
    return strokes[: max(1, int(np.ceil(share * len(strokes) - 1e-9)))]


class DoodleAugment:
    """Random strokes-level changes of a doodle, then the canvas's drawing at a random pen width.

    With ``p_partial`` only the first 30 to 90 % of the strokes are kept (early strokes must count);
    otherwise each stroke after the first two is left out with ``p_drop``. Each stroke is shifted by
    about ``jitter`` of the page and its points by a tenth of that (a hand that places strokes
    loosely); with ``p_simplify`` only every 2nd to 4th point is kept.
    The pen width is drawn from ``widths`` (reference pixels) and the margin from ``margins``.
    """

    def __init__(self, *, p_partial: float = 0.3, p_drop: float = 0.1, jitter: float = 0.012,
                 p_simplify: float = 0.3, widths: tuple[float, float] = (3.0, 9.0),
                 margins: tuple[float, float] = (0.04, 0.15), side: int = 256) -> None:
        self.p_partial = p_partial
        self.p_drop = p_drop
        self.jitter = jitter
        self.p_simplify = p_simplify
        self.widths = widths
        self.margins = margins
        self.side = side

    def __call__(self, strokes: Strokes) -> Image.Image:
        rng = random.Random(random.getrandbits(64))
        if rng.random() < self.p_partial:
            strokes = first_strokes(strokes, rng.uniform(0.3, 0.9))
        else:
            strokes = strokes[:2] + [s for s in strokes[2:] if rng.random() >= self.p_drop]
        if rng.random() < self.p_simplify:
            step = rng.randint(2, 4)
            strokes = [np.concatenate([s[:-1:step], s[-1:]]) if len(s) > 2 else s for s in strokes]
        page = fit_to_page(strokes, rng.uniform(*self.margins))
        noise = np.random.default_rng(rng.getrandbits(32))
        page = [s + noise.normal(0.0, self.jitter, (1, 2)) + noise.normal(0.0, self.jitter / 10, s.shape)
                for s in page]
        return render_strokes(page, self.side, rng.uniform(*self.widths))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p_partial={self.p_partial}, p_drop={self.p_drop}, jitter={self.jitter})"


def with_doodles(dataset: Any, folder: Path, fraction: float) -> tuple[Any, dict[Path, Strokes]]:
    """A copy of ``dataset`` (a ``FolderDataset`` with sketches) in which the doodles of its classes
    in ``folder`` make about ``fraction`` of each such class's SKETCH-domain samples, and the
    strokes of each doodle by its PNG path. Classes without doodles are unchanged."""
    from zssbir_core.data.domains import SKETCH
    from zssbir_core.data.folder import Sample

    if not 0.0 < fraction < 1.0:
        raise ValueError("fraction must be in (0, 1)")
    if not (Path(folder) / "strokes").is_dir():
        raise DatasetError(f"{folder} holds no strokes/ folder of Quick, Draw! doodles")
    sketches: dict[int, int] = {}
    for sample in dataset.sketches():
        sketches[sample.label] = sketches.get(sample.label, 0) + 1
    added: list[Sample] = []
    strokes_by_path: dict[Path, Strokes] = {}
    for label, name in enumerate(dataset.classes):
        doodles = {key: strokes for key, strokes in read_doodles(folder, name).items() if strokes}
        paths = [Path(folder) / "sketch" / name / f"{key}.png" for key in sorted(doodles)]
        paths = [path for path in paths if path.is_file()]
        if not paths:
            continue
        strokes_by_path.update({path: doodles[path.stem] for path in paths})
        wanted = max(len(paths), round(fraction * sketches.get(label, 0) / (1.0 - fraction)))
        added += [Sample(paths[i % len(paths)], label, SKETCH) for i in range(wanted)]
    return dataclasses.replace(dataset, samples=list(dataset.samples) + added), strokes_by_path
