"""Shipped zero-shot splits and the benchmark readers (on tiny fake releases in tmp dirs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from zssbir_core.data.benchmarks import detect_benchmark, read_benchmark, read_benchmark_split
from zssbir_core.data.splits import SPLITS, load_split, read_class_list, split_file_names
from zssbir_core.errors import DatasetError

SIZES = {
    "sketchy_sake": (100, 25, 125),
    "sketchy_yelamarthi": (104, 21, 125),
    "tuberlin": (220, 30, 250),
    "quickdraw": (80, 30, 110),
}


@pytest.mark.parametrize("split", list(SPLITS))
def test_split_sizes_and_disjointness(split):
    seen, unseen = load_split(split, "seen"), load_split(split, "unseen")
    n_seen, n_unseen, total = SIZES[split]
    assert (len(seen), len(unseen)) == (n_seen, n_unseen)
    assert len(set(seen) | set(unseen)) == total
    assert not set(seen) & set(unseen)


def test_both_sketchy_splits_cover_the_same_125_classes():
    sake = set(load_split("sketchy_sake", "seen") + load_split("sketchy_sake", "unseen"))
    eccv = set(load_split("sketchy_yelamarthi", "seen") + load_split("sketchy_yelamarthi", "unseen"))
    assert sake == eccv


def test_sake_unseen_are_exactly_the_classes_missing_from_the_shared_sample(shared_sketchy_root):
    present = {p.name for p in (shared_sketchy_root / "photo").iterdir() if p.is_dir()}
    assert set(load_split("sketchy_sake", "seen")) == present
    assert not set(load_split("sketchy_sake", "unseen")) & present


def test_read_class_list_from_file_and_by_name(tmp_path):
    listing = tmp_path / "classes.txt"
    listing.write_text("# my validation classes\ncat\n\ndog\ncat\n")
    assert read_class_list(listing) == ["cat", "dog"]
    assert read_class_list("tuberlin_unseen") == load_split("tuberlin", "unseen")
    assert "quickdraw_seen" in split_file_names()
    with pytest.raises(DatasetError, match="class list not found"):
        read_class_list(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(DatasetError, match="empty"):
        read_class_list(tmp_path / "empty.txt")


def _image(path: Path, mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (24, 24), 128).save(path)


def fake_release(root: Path, photo_dir: str, sketch_dir: str, classes: list[str]) -> Path:
    for name in classes:
        for i in range(2):
            _image(root / photo_dir / name / f"p{i}.jpg")
            _image(root / sketch_dir / name / f"s{i}.png", "L")
    return root


def test_sketchy_release_layout_restricted_to_the_unseen_split(tmp_path):
    unseen = load_split("sketchy_sake", "unseen")
    fake_release(
        tmp_path / "Sketchy",
        "EXTEND_image_sketchy",
        "256x256/sketch/tx_000000000000",
        unseen + ["cat", "dog"],
    )
    assert detect_benchmark(tmp_path) == "sketchy"
    dataset = read_benchmark_split("sketchy_sake", "unseen", tmp_path)
    assert dataset.classes == unseen
    assert dataset.counts()["teddy_bear"] == (2, 2)
    assert "cat" not in dataset.classes


def test_quickdraw_spelling_differences_are_matched(tmp_path):
    unseen = load_split("quickdraw", "unseen")
    folders = [c.replace("palm tree", "palm_tree").replace("fire_hydrant", "fire hydrant") for c in unseen]
    fake_release(tmp_path, "QuickDraw_images_final", "QuickDraw_sketches_final", folders)
    dataset = read_benchmark("quickdraw", tmp_path, classes=unseen)
    assert len(dataset.classes) == 30
    assert "palm_tree" in dataset.classes  # the folder's own spelling is kept


def test_tuberlin_missing_classes_are_named(tmp_path):
    fake_release(tmp_path / "TUBerlin", "ImageResized_ready", "png_ready", ["banana", "bus"])
    assert detect_benchmark(tmp_path) == "tuberlin"
    with pytest.raises(DatasetError, match="28 listed class.*missing.*tractor"):
        read_benchmark_split("tuberlin", "unseen", tmp_path)
    everything = read_benchmark("tuberlin", tmp_path)
    assert everything.classes == ["banana", "bus"]


def test_no_known_layout_is_a_clear_error(tmp_path):
    (tmp_path / "photos").mkdir()
    assert detect_benchmark(tmp_path) is None
    with pytest.raises(DatasetError, match="no Sketchy Extended layout found"):
        read_benchmark("sketchy", tmp_path)
    with pytest.raises(DatasetError, match="unknown benchmark"):
        read_benchmark("imagenet", tmp_path)
