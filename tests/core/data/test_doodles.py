"""Quick, Draw! doodles as training samples: reading, placing, drawing like the canvas, augmenting."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zssbir_core.data.domains import PHOTO, SKETCH
from zssbir_core.data.doodles import (
    DoodleAugment,
    first_strokes,
    fit_to_page,
    read_doodles,
    render_strokes,
    with_doodles,
)
from zssbir_core.data.folder import FolderDataset, Sample
from zssbir_core.data.transforms import SketchStyleJitter
from zssbir_core.errors import DatasetError

SQUARE = [[[10, 90, 90, 10, 10], [10, 10, 90, 90, 10], [0, 1, 2, 3, 4]]]
CROSS = [[[0, 100], [0, 100]], [[100, 0], [0, 100]], [[50, 50], [0, 100]]]


def write_doodles(folder: Path, name: str, drawings: dict[str, list]) -> None:
    (folder / "strokes").mkdir(parents=True, exist_ok=True)
    (folder / "sketch" / name).mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"key_id": key, "word": name, "drawing": drawing}) for key, drawing in drawings.items()]
    (folder / "strokes" / f"{name}.ndjson").write_text("\n".join(lines) + "\n")
    for key in drawings:
        Image.new("L", (8, 8), 255).save(folder / "sketch" / name / f"{key}.png")


def ink(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L")) < 128


def test_read_fit_and_render(tmp_path: Path) -> None:
    write_doodles(tmp_path, "cat", {"1": SQUARE, "2": CROSS})
    doodles = read_doodles(tmp_path, "cat")
    assert sorted(doodles) == ["1", "2"] and len(doodles["2"]) == 3
    assert read_doodles(tmp_path, "dog") == {}
    page = fit_to_page(doodles["1"])
    points = np.concatenate(page)
    assert points.min() == pytest.approx(1 / 16) and points.max() == pytest.approx(15 / 16)
    thin, thick = render_strokes(page), render_strokes(page, width=12.0)
    assert thin.size == (256, 256) and thin.mode == "RGB"
    assert ink(thin)[16, 128] and not ink(thin)[128, 128]  # the top edge is drawn, the middle is not
    assert ink(thick).sum() > 2 * ink(thin).sum()


def test_first_strokes_keeps_the_early_ones() -> None:
    strokes = [np.zeros((2, 2)) + i for i in range(4)]
    assert len(first_strokes(strokes, 0.25)) == 1
    assert len(first_strokes(strokes, 0.5)) == 2
    assert len(first_strokes(strokes, 0.1)) == 1
    assert first_strokes(strokes, 1.0)[-1][0, 0] == 3


def test_bad_line_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "strokes").mkdir()
    (tmp_path / "strokes" / "cat.ndjson").write_text('{"key_id": "1", "drawing": [[[1, 2]]]}\n')
    with pytest.raises(DatasetError, match="cat.ndjson, line 1"):
        read_doodles(tmp_path, "cat")


def test_augment_draws_a_page(tmp_path: Path) -> None:
    write_doodles(tmp_path, "cat", {"2": CROSS})
    random.seed(0)
    images = [DoodleAugment()(read_doodles(tmp_path, "cat")["2"]) for _ in range(5)]
    assert all(image.size == (256, 256) and ink(image).any() for image in images)
    assert len({image.tobytes() for image in images}) == 5


def test_with_doodles_adds_a_share_of_sketches(tmp_path: Path) -> None:
    write_doodles(tmp_path / "qd", "cat", {"1": SQUARE, "2": CROSS})
    samples = [Sample(tmp_path / f"p{i}.jpg", label, PHOTO) for label in (0, 1) for i in range(2)]
    samples += [Sample(tmp_path / f"s{label}-{i}.png", label, SKETCH) for label in (0, 1) for i in range(6)]
    dataset = FolderDataset(tmp_path, ["cat", "dog"], samples)
    more, strokes = with_doodles(dataset, tmp_path / "qd", 0.25)
    added = more.samples[len(samples):]
    assert len(added) == 2 and {s.label for s in added} == {0}  # round(0.25 * 6 / 0.75) = 2; dog has none
    assert set(strokes) == {s.path for s in added} and all(p.is_file() for p in strokes)
    with pytest.raises(DatasetError, match="no strokes"):
        with_doodles(dataset, tmp_path, 0.25)


def test_style_jitter_changes_a_sketch() -> None:
    sketch = Image.new("RGB", (64, 64), "white")
    sketch.paste((0, 0, 0), (10, 30, 54, 32))
    random.seed(3)
    changed = [SketchStyleJitter(p=1.0)(sketch) for _ in range(8)]
    assert all(image.size == sketch.size for image in changed)
    assert sum(image.tobytes() != sketch.tobytes() for image in changed) >= 7
    assert SketchStyleJitter(p=0.0)(sketch) is sketch
