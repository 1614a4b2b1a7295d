"""Fine-tuning helpers: folder check, held-out split, time estimate, model comparison."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from zssbir_core.data.folder import scan_folder_dataset
from zssbir_core.errors import DatasetError
from zssbir_core.finetuning.data_check import check_training_folder
from zssbir_core.finetuning.estimate import estimate_time, format_duration, recipe_steps, warmup_settings
from zssbir_core.finetuning.figures import FiguresCancelled, compare_models
from zssbir_core.finetuning.holdout import split_holdout


def _image(path: Path, shade: int, shape: str = "disc") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (80, 80), (230, 230, 230))
    draw = ImageDraw.Draw(image)
    box = (15, 15, 65, 65)
    (draw.ellipse if shape == "disc" else draw.rectangle)(box, fill=(shade, 40, 40))
    image.save(path)


def _photos_only(root: Path, counts: dict[str, int]) -> Path:
    for name, count in counts.items():
        for index in range(count):
            _image(root / name / f"{index}.png", 20 + 10 * index, "disc" if name == "disc" else "box")
    return root


def test_check_reports_classes_problems_and_blockers(tmp_path: Path) -> None:
    root = _photos_only(tmp_path / "data", {"disc": 6, "box": 3})
    (root / "disc" / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    (root / "notes.txt").write_text("a stray file")
    report = check_training_folder(root)
    assert report.ok and not report.has_sketches
    assert [(c.name, c.photos, c.sketches) for c in report.classes] == [("box", 3, 0), ("disc", 6, 0)]
    assert any("broken.jpg" in line for line in report.skipped)
    assert report.warnings == ["too few photos (fewer than 5) in 1 class(es): box (3)"]
    summary = report.summary()
    assert summary.startswith("2 classes, 9 photos, 0 sketches: photos only")

    lonely = _photos_only(tmp_path / "lonely", {"disc": 6})
    assert not check_training_folder(lonely).ok
    assert "at least 2 classes" in check_training_folder(lonely).summary()
    with pytest.raises(DatasetError, match="not a dataset"):
        check_training_folder(tmp_path / "lonely" / "disc")


def test_holdout_keeps_training_images_and_never_changes_the_source(tmp_path: Path) -> None:
    root = _photos_only(tmp_path / "data", {"disc": 10, "box": 3})
    before = sorted(p.name for p in root.rglob("*"))
    dataset = scan_folder_dataset(root)
    split = split_holdout(dataset, tmp_path / "split", fraction=0.2, seed=1)
    assert (split.train_images, split.heldout_images) == (11, 2)
    train = scan_folder_dataset(split.train_root)
    held = scan_folder_dataset(split.heldout_root)
    assert train.counts() == {"box": (3, 0), "disc": (8, 0)}
    assert held.counts() == {"disc": (2, 0)}
    held_files = {os.path.samefile(p.path, q) for p in held.samples for q in (root / "disc").iterdir()}
    assert True in held_files, "held-out files are links to (or copies of) the user's files"
    assert sorted(p.name for p in root.rglob("*")) == before
    with pytest.raises(DatasetError, match="already holds a split"):
        split_holdout(dataset, tmp_path / "split")


def test_estimate_from_warmup_step_times() -> None:
    assert warmup_settings()["batches_per_epoch"] >= 3
    steps = recipe_steps("quick")
    estimate = estimate_time("quick", [10.0, 11.0, 12.5, 13.5], startup_seconds=20.0)
    assert estimate.step_seconds == 1.0 and estimate.steps == steps
    assert estimate.seconds == pytest.approx(20.0 + steps)
    assert "measured" in estimate.describe()
    from zssbir_core.finetuning.estimate import recipe_time_budget_s

    budget = recipe_time_budget_s("quick")
    if budget is not None:
        slow = estimate_time("quick", [0.0, 100.0, 200.0], startup_seconds=20.0)
        assert slow.seconds == pytest.approx(20.0 + budget) and slow.steps == int(budget / 100.0)
    with pytest.raises(ValueError):
        estimate_time("quick", [3.0], 1.0)
    assert [format_duration(s) for s in (45, 420, 4800)] == ["45 s", "7 min", "1 h 20 min"]


def test_compare_models_uses_the_same_queries_for_every_model(tmp_path: Path) -> None:
    root = _photos_only(tmp_path / "held", {"disc": 3, "box": 3})
    figures = compare_models(["lite0-imagenet"], root, batch_size=4)
    metrics = figures["lite0-imagenet"]
    assert metrics["queries"] == 6 and metrics["gallery"] == 6, "photos-only: drawn sketches query"
    assert 0.0 <= metrics["map_all"] <= 1.0 and 0.0 <= metrics["p_10"] <= 1.0

    import threading

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(FiguresCancelled):
        compare_models(["lite0-imagenet"], root, cancel=cancel)


def test_compare_models_with_real_sketches(sketchy_root: Path, tmp_path: Path) -> None:
    for name in ("teapot", "cat"):
        for domain, pattern in (("photo", "*.jpg"), ("sketch", "*.png")):
            for path in sorted((sketchy_root / domain / name).glob(pattern))[:3]:
                target = tmp_path / "real" / domain / name / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(path)
    metrics = compare_models(["lite0-imagenet"], tmp_path / "real")["lite0-imagenet"]
    assert metrics["queries"] == 6 and metrics["gallery"] == 6
