"""zssbir-cli index / search / library, run in-process on real photos with the real Lite0 model."""

from __future__ import annotations

import json

import pytest

from tests.core.library_helpers import SMALL_SIZE, copy_photos, first_sketch
from zssbir_core.cli import main

MODEL = ["--model", "lite0-imagenet", "--image-size", str(SMALL_SIZE), "--device", "cpu"]


@pytest.mark.slow
def test_index_search_library_remove(tmp_path, sketchy_root, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ZSSBIR_DATA_DIR", str(tmp_path / "data"))
    photos = tmp_path / "photos"
    copy_photos(sketchy_root, photos, {"apple": 3, "bear": 3})
    (photos / "bear" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    library = str(tmp_path / "library")

    assert main(["index", "--library", library, "--add", str(photos), *MODEL, "--progress", "none"]) == 0
    assert "6 photos indexed with lite0-imagenet@64" in capsys.readouterr().err

    sketches = [str(first_sketch(sketchy_root, "apple")), str(first_sketch(sketchy_root, "bear"))]
    assert main(["search", "--library", library, "--sketch", *sketches, "--k", "4", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["query"] for line in lines] == sketches
    assert all(len(line["results"]) == 4 for line in lines)
    assert set(lines[0]["results"][0]) == {"path", "score"}

    assert main(["search", "--library", library, "--sketch", sketches[0], "--k", "2"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0] == f"{sketches[0]}:" and len(text) == 3

    assert main(["library", "--library", library, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["photos"] == 6 and report["model"] == "lite0-imagenet@64"
    assert report["folders"] == [{"path": str(photos), "photos": 6}]
    assert report["skipped"][0]["path"].endswith("broken.jpg") and report["bytes"]["index"] > 0
    assert main(["library", "--library", library]) == 0
    assert "broken.jpg: " in capsys.readouterr().out

    assert main(["index", "--library", library, "--progress", "json"]) == 0  # re-scan, library's own model
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[-1]["phase"] == "done" and events[-1]["total"] == 0

    assert main(["index", "--library", library, "--remove", str(photos)]) == 0
    assert "6 photos dropped" in capsys.readouterr().err


def test_user_errors_are_one_line(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ZSSBIR_DATA_DIR", str(tmp_path / "data"))
    library = str(tmp_path / "library")
    assert main(["index", "--library", library]) == 2
    assert "watches no folder yet" in capsys.readouterr().err
    assert main(["index", "--library", library, "--add", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["search", "--library", library, "--sketch", "x.png"]) == 2
    assert "no indexed photos yet" in capsys.readouterr().err
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("x")
    assert main(["library", "--library", str(tmp_path / "notes")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no zssbir library" in err
