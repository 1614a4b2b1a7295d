"""Folder datasets: layouts, real broken files, and the skip/stop policy."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from zssbir_core.data.domains import PHOTO, SKETCH
from zssbir_core.data.folder import FolderDataset, scan_folder_dataset
from zssbir_core.data.image_dataset import ImageDataset
from zssbir_core.data.transforms import StrokeWidthJitter, eval_transform, train_transform
from zssbir_core.errors import DatasetError
from zssbir_core.models.preprocessing import IMAGENET_MEAN, IMAGENET_STD, Preprocessing

PRE = Preprocessing(32, IMAGENET_MEAN, IMAGENET_STD)


def write_image(path: Path, colour=(200, 30, 30), mode="RGB", fmt=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (40, 48), colour if mode == "RGB" else 255).save(path, format=fmt)
    return path


def make_dataset(root: Path, classes=("cat", "dog"), photos=2, sketches=3) -> Path:
    for name in classes:
        for i in range(photos):
            write_image(root / "photo" / name / f"{i}.jpg")
        for i in range(sketches):
            write_image(root / "sketch" / name / f"{i}.png", mode="L")
    return root


def test_two_domain_layout(tmp_path):
    dataset = scan_folder_dataset(make_dataset(tmp_path))
    assert dataset.classes == ["cat", "dog"]
    assert dataset.has_sketches
    assert dataset.counts() == {"cat": (2, 3), "dog": (2, 3)}
    assert len(dataset.photos()) == 4 and len(dataset.sketches()) == 6
    assert {s.label for s in dataset.samples if s.path.parent.name == "dog"} == {1}
    assert dataset.problems == []


@pytest.mark.parametrize("prefix", ["photo/", ""])
def test_photos_only_layouts(tmp_path, prefix):
    for name in ("a", "b", "c"):
        write_image(tmp_path / f"{prefix}{name}" / "x.jpg")
    dataset = scan_folder_dataset(tmp_path)
    assert dataset.classes == ["a", "b", "c"]
    assert not dataset.has_sketches
    assert dataset.counts() == {"a": (1, 0), "b": (1, 0), "c": (1, 0)}


def test_nested_folders_and_hidden_files(tmp_path):
    make_dataset(tmp_path)
    write_image(tmp_path / "photo" / "cat" / "more" / "deep.jpg")
    (tmp_path / "photo" / "cat" / ".DS_Store").write_bytes(b"\0\1")
    dataset = scan_folder_dataset(tmp_path)
    assert dataset.counts()["cat"] == (3, 3)
    assert dataset.problems == []


def make_broken(root: Path) -> dict[str, Path]:
    make_dataset(root, classes=("cat", "dog", "owl", "pig"))
    truncated = root / "photo" / "cat" / "truncated.jpg"
    full = (root / "photo" / "cat" / "0.jpg").read_bytes()
    truncated.write_bytes(full[: len(full) // 2])
    text_as_jpg = root / "sketch" / "dog" / "notes.png"
    text_as_jpg.write_text("this is not a picture")
    readme = root / "photo" / "dog" / "readme.txt"
    readme.write_text("hello")
    empty = root / "photo" / "zebra"
    empty.mkdir()
    (root / "sketch" / "zebra").mkdir()
    for sketch in (root / "sketch" / "owl").iterdir():  # owl: photos only
        sketch.unlink()
    stray = write_image(root / "photo" / "stray.jpg")
    return {"truncated": truncated, "text": text_as_jpg, "readme": readme, "stray": stray}


def test_bad_files_are_skipped_and_listed(tmp_path):
    bad = make_broken(tmp_path)
    dataset = scan_folder_dataset(tmp_path)
    assert dataset.classes == ["cat", "dog", "pig"]  # owl lacks sketches, zebra is empty
    reasons = {problem.path: problem.reason for problem in dataset.problems}
    assert "truncated" in reasons[bad["truncated"]]
    assert "not an image" in reasons[bad["text"]]
    assert reasons[bad["readme"]] == "not an image file"
    assert reasons[bad["stray"]] == "file outside a class folder"
    assert reasons[tmp_path / "photo" / "owl"] == "class 'owl' has photos but no readable sketches"
    assert any("zebra" in str(path) and "no readable images" in r for path, r in reasons.items())
    assert all(sample.path not in bad.values() for sample in dataset.samples)
    assert dataset.counts()["cat"] == (2, 3)


def test_bad_files_stop_names_every_file(tmp_path):
    bad = make_broken(tmp_path)
    with pytest.raises(DatasetError) as caught:
        scan_folder_dataset(tmp_path, on_problem="stop")
    message = str(caught.value)
    assert "6 problem(s)" in message
    for path in bad.values():
        assert str(path) in message
    assert "owl" in message and "zebra" in message


def test_without_image_check_unreadable_files_stay(tmp_path):
    bad = make_broken(tmp_path)
    dataset = scan_folder_dataset(tmp_path, check_images=False)
    assert bad["truncated"] in {s.path for s in dataset.samples}


@pytest.mark.parametrize(
    "setup,message",
    [
        (lambda root: None, "does not exist"),
        (lambda root: root.write_text("x"), "not a folder"),
        (lambda root: root.mkdir(), "not a dataset"),
        (lambda root: (root / "docs" / "a.txt").parent.mkdir(parents=True), "not a dataset"),
        (lambda root: write_image(root / "sketch" / "cat" / "a.png"), "no photo folder"),
        (lambda root: (root / "photo").mkdir(parents=True), "no class folders"),
    ],
)
def test_not_a_dataset_is_always_an_error(tmp_path, setup, message):
    root = tmp_path / "data"
    setup(root)
    with pytest.raises(DatasetError, match=message):
        scan_folder_dataset(root)


def test_nothing_usable_left_is_an_error(tmp_path):
    (tmp_path / "photo" / "cat").mkdir(parents=True)
    (tmp_path / "photo" / "cat" / "a.jpg").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="(?s)no usable class left.*a.jpg"):
        scan_folder_dataset(tmp_path, on_problem="skip")


def test_subset_relabels_in_given_order(tmp_path):
    dataset = scan_folder_dataset(make_dataset(tmp_path, classes=("a", "b", "c")))
    subset = dataset.subset(["c", "a"])
    assert subset.classes == ["c", "a"]
    assert subset.counts() == {"c": (2, 3), "a": (2, 3)}
    assert {s.label for s in subset.samples if s.path.parent.name == "c"} == {0}
    with pytest.raises(DatasetError, match="no class 'zebra'"):
        dataset.subset(["a", "zebra"])


def test_fingerprint_changes_with_files(tmp_path):
    make_dataset(tmp_path)
    first = scan_folder_dataset(tmp_path).fingerprint()
    assert scan_folder_dataset(tmp_path).fingerprint() == first
    write_image(tmp_path / "photo" / "cat" / "new.jpg")
    assert scan_folder_dataset(tmp_path).fingerprint() != first


def test_image_dataset_and_transforms(tmp_path):
    dataset = scan_folder_dataset(make_dataset(tmp_path))
    transforms = {PHOTO: train_transform(PRE, PHOTO), SKETCH: train_transform(PRE, SKETCH)}
    items = ImageDataset(dataset.samples, transforms)
    assert len(items) == len(dataset.samples)
    for index in range(len(items)):
        tensor, label, domain = items[index]
        assert tensor.shape == (3, 32, 32) and tensor.dtype == torch.float32
        assert (label, domain) == (dataset.samples[index].label, dataset.samples[index].domain)
    plain = ImageDataset(dataset.samples, {PHOTO: eval_transform(PRE), SKETCH: eval_transform(PRE)})
    assert torch.equal(plain[0][0], plain[0][0])
    with pytest.raises(ValueError, match="no transform"):
        ImageDataset(dataset.samples, {PHOTO: eval_transform(PRE)})


@pytest.mark.parametrize("workers", [0, 1])
def test_file_broken_after_the_scan_is_a_dataset_error(tmp_path, workers):
    dataset = scan_folder_dataset(make_dataset(tmp_path))
    victim = dataset.photos()[0].path
    victim.write_bytes(b"overwritten")
    transform = eval_transform(PRE)
    loader = torch.utils.data.DataLoader(
        ImageDataset(dataset.samples, {PHOTO: transform, SKETCH: transform}), batch_size=4, num_workers=workers
    )
    with pytest.raises(DatasetError, match=str(victim.name)):
        list(loader)


@pytest.mark.slow
def test_sketch_augmentation_keeps_white_background():
    sketch = Image.new("RGB", (64, 64), (255, 255, 255))
    transform = train_transform(Preprocessing(32, (0.0,) * 3, (1.0,) * 3), SKETCH)
    for _ in range(10):
        corner = transform(sketch)[:, 0, 0]
        assert torch.allclose(corner, torch.ones(3))


def test_stroke_width_jitter_thickens_and_thins_without_erasing():
    sketch = Image.new("L", (64, 64), 255)
    for x in range(10, 54):
        sketch.putpixel((x, 32), 0)
        sketch.putpixel((x, 33), 0)
    ink = lambda image: int((255 - np.asarray(image.convert("L"), dtype=np.int64)).sum())  # noqa: E731
    outcomes = set()
    for seed in range(20):
        random.seed(seed)
        outcomes.add(ink(StrokeWidthJitter(p=1.0)(sketch)))
    thick, thin = max(outcomes), min(outcomes)
    assert thick > ink(sketch) > thin > 0  # both happen; a thinned stroke survives


@pytest.mark.slow
def test_real_sketchy_sample(shared_sketchy_root):
    dataset = scan_folder_dataset(shared_sketchy_root, check_images=False)
    assert len(dataset.classes) == 100 and dataset.has_sketches
    assert dataset.counts()["cat"] == (25, 60)
    assert isinstance(dataset.subset(["cat", "dog"]), FolderDataset)
