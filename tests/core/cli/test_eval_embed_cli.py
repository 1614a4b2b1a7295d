"""``zssbir-cli eval`` and ``embed`` end to end with the real offline EfficientNet-Lite0 weights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from zssbir_core.cli import main

SIZE = ["--image-size", "64", "--device", "cpu"]


def _drawing(path: Path, shape: str, photo: bool, seed: int) -> Path:
    """A filled (photo) or outlined (sketch) circle or square, jittered by ``seed``."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (72, 72), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    x, y = rng.integers(8, 20, size=2)
    box = (int(x), int(y), int(x) + 40, int(y) + 40)
    colour = tuple(int(c) for c in rng.integers(0, 200, size=3))
    method = draw.ellipse if shape == "circle" else draw.rectangle
    if photo:
        method(box, fill=colour)
    else:
        method(box, outline=(0, 0, 0), width=3)
    image.save(path)
    return path


@pytest.fixture
def shapes(tmp_path) -> Path:
    root = tmp_path / "shapes"
    for shape in ("circle", "square"):
        for i in range(2):
            _drawing(root / "photo" / shape / f"{i}.jpg", shape, True, i)
            _drawing(root / "sketch" / shape / f"{i}.png", shape, False, 10 + i)
    return root


def test_eval_json(shapes, capsys):
    assert main(["eval", "--model", "lite0-imagenet", "--data", str(shapes), "--json", *SIZE]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "lite0-imagenet@64"
    assert (report["classes"], report["sketches"], report["photos"]) == (2, 4, 4)
    assert set(report["metrics"]) == {"map_all", "map_200", "p_100", "p_200", "p_10"}
    assert 0.5 <= report["metrics"]["map_all"] <= 1.0  # two classes: chance AP is above 0.5
    assert report["views"] is False


def test_eval_views_scores_the_sketches_as_the_app_embeds_them(shapes, capsys):
    assert main(["eval", "--model", "lite0-imagenet", "--data", str(shapes), "--json", "--views", *SIZE]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["views"] is True and report["sketches"] == 4
    assert 0.5 <= report["metrics"]["map_all"] <= 1.0


def test_eval_table_and_class_list(shapes, tmp_path, capsys):
    listing = tmp_path / "classes.txt"
    listing.write_text("circle\nsquare\n")
    assert main(["eval", "--model", "lite0-imagenet", "--data", str(shapes), "--classes", str(listing), *SIZE]) == 0
    out = capsys.readouterr().out
    assert "mAP@all" in out and "P@100" in out and "2 classes" in out


def test_eval_user_mistakes_are_one_line(shapes, tmp_path, capsys):
    partial = tmp_path / "partial.txt"
    partial.write_text("circle\nzebra\n")
    cases = [
        (["--data", str(tmp_path / "missing")], "does not exist"),
        (["--data", str(shapes), "--classes", "sketchy_sake_unseen"], "none of the 25 listed classes"),
        (["--data", str(shapes), "--classes", str(partial)], "1 listed class(es) missing or unusable: zebra"),
        (["--data", str(shapes), "--classes", str(tmp_path / "nope.txt")], "class list not found"),
    ]
    for extra, message in cases:
        assert main(["eval", "--model", "lite0-imagenet", *extra, *SIZE]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_eval_photos_only_folder_is_refused(tmp_path, capsys):
    for shape in ("circle", "square"):
        _drawing(tmp_path / shape / "a.jpg", shape, True, 0)
    assert main(["eval", "--model", "lite0-imagenet", "--data", str(tmp_path), *SIZE]) == 2
    assert "no sketches" in capsys.readouterr().err


def test_eval_skips_and_reports_broken_files(shapes, capsys):
    (shapes / "photo" / "circle" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    assert main(["eval", "--model", "lite0-imagenet", "--data", str(shapes), "--json", *SIZE]) == 0
    captured = capsys.readouterr()
    assert "broken.jpg" in captured.err
    assert json.loads(captured.out)["skipped"] == 1
    assert main(["eval", "--model", "lite0-imagenet", "--data", str(shapes), "--on-problem", "stop", *SIZE]) == 2
    assert "broken.jpg" in capsys.readouterr().err


@pytest.mark.slow
def test_embed_files_and_folders(shapes, tmp_path, capsys):
    (shapes / "photo" / "circle" / "broken.png").write_text("not an image")
    (shapes / "photo" / "notes.txt").write_text("ignored: not an image extension")
    single = _drawing(tmp_path / "single.jpg", "circle", True, 5)
    output = tmp_path / "vectors.npz"
    code = main(["embed", "--model", "lite0-imagenet", "--output", str(output),
                 str(shapes / "photo"), str(single), str(tmp_path / "gone.jpg"), *SIZE])
    assert code == 0
    err = capsys.readouterr().err
    assert "broken.png" in err and "gone.jpg" in err and "wrote 5 embeddings" in err
    with np.load(output) as data:
        paths, embeddings = data["paths"], data["embeddings"]
        assert str(data["model_id"]) == "lite0-imagenet@64"
    assert paths.dtype.kind == "U" and len(paths) == 5
    assert str(single) in paths.tolist()
    assert embeddings.dtype == np.float32 and embeddings.shape == (5, 1280)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    # Same image, same vector, whichever batch it falls in:
    again = tmp_path / "again.npz"
    assert main(["embed", "--model", "lite0-imagenet", "--output", str(again), str(single), *SIZE]) == 0
    with np.load(again) as data:
        row = paths.tolist().index(str(single))
        np.testing.assert_allclose(data["embeddings"][0], embeddings[row], atol=1e-5)


def test_embed_nothing_readable_is_an_error(tmp_path, capsys):
    (tmp_path / "bad.jpg").write_text("nope")
    code = main(["embed", "--model", "lite0-imagenet", "--output", str(tmp_path / "o.npz"), str(tmp_path), *SIZE])
    assert code == 2
    assert "none of the 1 image files could be read" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()
    output = str(tmp_path / "no" / "o.npz")
    assert main(["embed", "--model", "lite0-imagenet", "--output", output, str(tmp_path), *SIZE]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_eval_on_real_sketchy_images(sketchy_root, tmp_path, capsys):
    """Three real classes, a few real photos and sketches each, copied into a small dataset."""
    for name in ("cat", "car_(sedan)", "teapot"):
        for domain, count in (("photo", 4), ("sketch", 4)):
            for source in sorted((sketchy_root / domain / name).iterdir())[:count]:
                target = tmp_path / "real" / domain / name / source.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, target)
    assert main(["eval", "--model", "lite0-imagenet", "--data", str(tmp_path / "real"), "--json", *SIZE]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["classes"], report["sketches"], report["photos"]) == (3, 12, 12)
    assert 0.0 < report["metrics"]["map_all"] <= 1.0
