"""zssbir-cli for scripts, in-process on real photos with the real Lite0 model: the trained-model store,
paths-only and NUL output, score thresholds, a query photo left out of its own results, refining a
search with --like / --unlike, and clear errors where a script would otherwise go on silently."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.core.library_helpers import SMALL_SIZE, copy_photos, first_sketch
from zssbir_core.cli import main
from zssbir_core.models import ZSSBIRNet, build_backbone, save_checkpoint

MODEL = ["--model", "lite0-imagenet", "--image-size", str(SMALL_SIZE), "--device", "cpu"]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, sketchy_root) -> dict[str, Path]:
    """A library of 12 real photos (apple, bear, castle) indexed with Lite0 at 64 px, one file skipped."""
    root = tmp_path_factory.mktemp("scripts")
    copy_photos(sketchy_root, root / "photos", {"apple": 4, "bear": 4, "castle": 4})
    (root / "photos" / "bear" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZSSBIR_DATA_DIR", str(root / "data"))
        assert main(["index", "--library", str(root / "library"), "--add", str(root / "photos"), *MODEL,
                     "--progress", "none"]) == 0
    return {"root": root, "photos": root / "photos", "library": root / "library"}


@pytest.fixture()
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ZSSBIR_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def search(indexed: dict[str, Path], *args: str) -> list[str]:
    return ["search", "--library", str(indexed["library"]), *args]


def test_paths_only_null_and_min_score(indexed, sketchy_root, capsysbinary, data_dir) -> None:
    sketch = str(first_sketch(sketchy_root, "castle"))
    assert main(search(indexed, "--sketch", sketch, "--k", "5", "--json")) == 0
    ranked = json.loads(capsysbinary.readouterr().out)["results"]
    assert main(search(indexed, "--sketch", sketch, "--k", "5", "--paths-only")) == 0
    assert capsysbinary.readouterr().out.decode().splitlines() == [r["path"] for r in ranked]
    assert main(search(indexed, "--sketch", sketch, "--k", "5", "-0")) == 0
    assert capsysbinary.readouterr().out == b"".join(r["path"].encode() + b"\0" for r in ranked)
    threshold = ranked[2]["score"] - 1e-6  # the JSON rounds to 6 places
    assert main(search(indexed, "--sketch", sketch, "--k", "5", "--paths-only", "--min-score", str(threshold))) == 0
    assert capsysbinary.readouterr().out.decode().splitlines() == [r["path"] for r in ranked[:3]]
    assert main(search(indexed, "--sketch", sketch, "--k", "5", "--paths-only", "--min-score", "-0.9")) == 0
    assert len(capsysbinary.readouterr().out.decode().splitlines()) == 5  # a negative score is a value, not -0
    with pytest.raises(SystemExit, match="2"):  # one output format
        main(search(indexed, "--sketch", sketch, "--paths-only", "--json"))


def test_a_library_photo_as_the_query_is_left_out_of_its_own_results(indexed, capsys, data_dir) -> None:
    photo = sorted((indexed["photos"] / "bear").glob("n*.jpg"))[0]
    assert main(search(indexed, "--sketch", str(photo), "--k", "11", "--paths-only")) == 0
    shown = capsys.readouterr().out.splitlines()
    assert len(shown) == 11 and str(photo) not in shown  # 12 photos, itself left out
    assert all(Path(p).parent.name in ("apple", "bear", "castle") for p in shown)


def test_like_and_unlike_move_the_query(indexed, sketchy_root, capsys, data_dir) -> None:
    sketch = str(first_sketch(sketchy_root, "apple"))
    assert main(search(indexed, "--sketch", sketch, "--k", "12", "--json")) == 0
    before = [r["path"] for r in json.loads(capsys.readouterr().out)["results"]]
    bears = sorted(str(p) for p in (indexed["photos"] / "bear").glob("n*.jpg"))
    apples = sorted(str(p) for p in (indexed["photos"] / "apple").glob("*.jpg"))
    assert main(search(indexed, "--sketch", sketch, "--k", "12", "--json", "--like", bears[0], "--like", bears[1],
                       "--unlike", apples[0])) == 0
    after = [r["path"] for r in json.loads(capsys.readouterr().out)["results"]]
    assert sorted(after) == sorted(before)
    rank = {path: after.index(path) - before.index(path) for path in after}
    assert all(rank[b] <= 0 for b in bears) and sum(rank[b] for b in bears) < 0  # bears move up
    assert rank[apples[0]] >= 0
    assert main(search(indexed, "--sketch", sketch, "--like", str(sketchy_root / "photo" / "cat" / "x.jpg"))) == 2
    assert "is not a photo of this library" in capsys.readouterr().err


def test_a_folder_filter_that_names_no_library_folder_is_an_error(indexed, sketchy_root, capsys, data_dir) -> None:
    sketch = str(first_sketch(sketchy_root, "apple"))
    assert main(search(indexed, "--sketch", sketch, "--folder", "/nonexistent")) == 2
    assert "--folder /nonexistent: no such folder" in capsys.readouterr().err
    assert main(search(indexed, "--sketch", sketch, "--folder", str(indexed["root"] / "data"))) == 2
    assert "not inside a folder of the library" in capsys.readouterr().err
    assert main(search(indexed, "--sketch", sketch, "--folder", str(indexed["photos"] / "bear"), "--paths-only")) == 0
    assert {Path(p).parent.name for p in capsys.readouterr().out.splitlines()} == {"bear"}


@pytest.mark.slow
def test_exclude_applies_at_once_and_skipped_counts_agree(tmp_path, sketchy_root, capsys, data_dir) -> None:
    photos = tmp_path / "photos"
    copy_photos(sketchy_root, photos, {"apple": 2, "bear": 2})
    for name in ("a.jpg", "b.png", "c.jpg"):
        (photos / name).write_bytes(b"not an image")
    library = ["--library", str(tmp_path / "library")]
    assert main(["index", *library, "--add", str(photos), *MODEL, "--progress", "none"]) == 0
    err = capsys.readouterr().err
    assert "4 photos indexed" in err and "3 files skipped" in err
    assert main(["index", *library, "--progress", "none"]) == 0
    assert "3 files skipped" in capsys.readouterr().err  # the same count as the first run and as `library`
    assert main(["library", *library, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["skipped"]) == 3
    assert main(["index", *library, "--exclude", "bear/*", "--progress", "none"]) == 0
    err = capsys.readouterr().err
    assert "exclude patterns: bear/*" in err and "2 photos indexed" in err
    assert main(["index", *library, "--remove-exclude", "bear/*", "--progress", "none"]) == 0
    assert "4 photos indexed" in capsys.readouterr().err
    assert main(["index", *library, "--workers", "2", "--progress", "none"]) == 0  # the old name still works
    assert "index --workers is the old name of --threads" in capsys.readouterr().err


def _checkpoint(folder: Path) -> Path:
    net = ZSSBIRNet(build_backbone("efficientnet_lite0", pretrained=False), embedding_dim=8, num_classes=2)
    return save_checkpoint(net, folder, classes=["cat", "dog"], training={"recipe": "quick"})


@pytest.mark.slow
def test_models_list_import_export_remove(tmp_path, indexed, capsys, data_dir) -> None:
    checkpoint = _checkpoint(tmp_path / "runs" / "mine" / "model")
    assert main(["models", "list"]) == 0 and capsys.readouterr().out == ""
    assert main(["models", "import", str(checkpoint), "--name", "my birds"]) == 0
    assert "imported 'my birds'" in capsys.readouterr().out
    assert main(["models", "list", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [m["name"] for m in listed] == ["my birds"] and listed[0]["model_id"].startswith("ckpt-")
    assert main(["models", "export", "my birds", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model.json", "model.safetensors"]
    assert main(["models", "export", listed[0]["key"], str(tmp_path / "out")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["models", "remove", "nobody"]) == 2
    assert "no trained model 'nobody'" in capsys.readouterr().err
    assert main(["models", "remove", listed[0]["model_id"], "--library", str(indexed["library"])]) == 0
    assert "removed 'my birds'" in capsys.readouterr().out
    assert main(["models", "list"]) == 0 and capsys.readouterr().out == ""


@pytest.mark.slow
def test_index_with_a_checkpoint_folder_lets_a_later_plain_search_find_it(tmp_path, sketchy_root, capsys,
                                                                         data_dir) -> None:
    checkpoint = _checkpoint(tmp_path / "runs" / "mine" / "model")
    photos = tmp_path / "photos"
    copy_photos(sketchy_root, photos, {"apple": 2, "bear": 2})
    library = ["--library", str(tmp_path / "library")]
    assert main(["index", *library, "--add", str(photos), "--model", str(checkpoint), "--image-size", "64",
                 "--device", "cpu", "--progress", "none"]) == 0
    assert "added" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "runs")  # the training folder is gone; the store keeps the model
    assert main(["search", *library, "--sketch", str(first_sketch(sketchy_root, "apple")), "--paths-only"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4
    assert main(["models", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "model"
    assert main(["models", "remove", "model", *library]) == 2  # the library uses it
    assert "is the model in use" in capsys.readouterr().err
