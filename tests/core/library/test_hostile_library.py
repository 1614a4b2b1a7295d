"""The hostile zoo: every kind of hostile file, folder, database and argument the library meets.

Each case is a real file on disk fed to the real indexer, index, database or command line; none
may crash the process, stop a run, lose a photo or touch a file outside zssbir's own folders.
Add a case here for every new hostile input found.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.core.library_helpers import SMALL_SIZE, copy_photos, embedder, first_sketch  # noqa: F401 - fixture
from zssbir_core.cli import main
from zssbir_core.errors import LibraryError
from zssbir_core.library import PhotoLibrary
from zssbir_core.library.excludes import ExcludeRules
from zssbir_core.library.lock import WriterLock

MODEL = ["--model", "lite0-imagenet", "--image-size", str(SMALL_SIZE), "--device", "cpu"]
REPO = Path(__file__).resolve().parents[3]


def _run(library: PhotoLibrary, model, **options) -> list:
    return list(library.index(model, batch_size=4, **options))


def _reasons(library: PhotoLibrary) -> dict[str, str]:
    return {os.path.basename(s.path): s.reason for s in library.skipped()}


@pytest.fixture()
def photos(tmp_path: Path, sketchy_root: Path) -> Path:
    root = tmp_path / "photos"
    copy_photos(sketchy_root, root, {"apple": 2, "bear": 2})
    return root


# -- deletes stay inside zssbir's folders ------------------------------------------------------


@pytest.mark.parametrize("key", ["../victim/IMG_0001", "../../victim/IMG_0001", "/abs/victim", "ab", ""])
def test_a_tampered_thumbnail_key_never_deletes_a_user_file(tmp_path, photos, embedder, key) -> None:
    victim = tmp_path / "victim" / "IMG_0001.jpg"
    victim.parent.mkdir()
    victim.write_bytes(b"the user's photo")
    inner = tmp_path / "library" / "victim" / "IMG_0001.jpg"
    with PhotoLibrary.open(tmp_path / "library") as library:
        inner.parent.mkdir()
        inner.write_bytes(b"not a thumbnail either")
        library.add_folder(photos)
        _run(library, embedder)
        with library.store.transaction() as db:
            db.execute("UPDATE photos SET thumb_key = ?", (key,))
        changed = sorted(photos.rglob("*.jpg"))
        os.utime(changed[0], ns=(1, 1))  # changed: its old thumbnail key is dropped
        changed[1].unlink()  # gone: its thumbnail key is dropped
        events = _run(library, embedder)
        assert events[-1].phase == "done"
        library.remove_folder(photos)  # every key of the folder is dropped
    assert victim.read_bytes() == b"the user's photo" and inner.exists()


def test_a_thumbnail_folder_link_out_of_the_cache_is_not_followed(tmp_path, photos, embedder) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    with PhotoLibrary.open(tmp_path / "library") as library:
        library.add_folder(photos)
        _run(library, embedder)
        key = library.photo(1).thumb_key
        shard = tmp_path / "library" / "thumbnails" / key[:2]
        for thumbnail in list(shard.iterdir()):  # another photo's thumbnail may share the shard
            shutil.move(thumbnail, outside / thumbnail.name)
        shard.rmdir()
        shard.symlink_to(outside)  # the shard now leads out of the cache
        library.remove_folder(photos)
    assert (outside / f"{key}.jpg").exists()


# -- one file never stops a run ------------------------------------------------------------------


def _zoo(folder: Path, good: bytes) -> None:
    """One file of every hostile kind the scanner and decoder meet (names say what they are)."""
    folder.mkdir()
    Image.new("L", (1, 12000), 255).save(folder / "tall-1x12000.png")
    Image.new("L", (2_000_000, 1), 255).save(folder / "wide-2000000x1.png")
    Image.new("L", (70_000, 8), 255).save(folder / "side-too-long.png")
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (folder / "text.png").write_text("hello")
    (folder / "IMG_0002.CR2").write_bytes(b"II*\x00raw data")  # a RAW without its JPEG
    (folder / "IMG_0003.nef").write_bytes(b"MM\x00*raw data")  # a RAW beside its JPEG: silent
    (folder / "IMG_0003.JPG").write_bytes(good)
    with open(os.fsencode(folder) + b"/caf\xe9-\xff.jpg", "wb") as handle:  # not UTF-8
        handle.write(good)
    (folder / "UPPER.JPG").write_bytes(good)


def test_the_zoo_is_indexed_or_skipped_with_reasons_and_never_retried(tmp_path, photos, embedder) -> None:
    good = next(photos.rglob("*.jpg")).read_bytes()
    _zoo(photos / "zoo", good)
    with PhotoLibrary.open(tmp_path / "library") as library:
        library.add_folder(photos)
        events = _run(library, embedder)
        assert events[-1].phase == "done"
        reasons = _reasons(library)
        assert "too elongated" in reasons["tall-1x12000.png"]
        assert "too large" in reasons["wide-2000000x1.png"]
        assert "side longer than" in reasons["side-too-long.png"]
        assert "RAW camera file" in reasons["IMG_0002.CR2"] and "IMG_0003.nef" not in reasons
        assert "not an image" in reasons["text.png"]
        assert library.photo_count() == 4 + 3  # the photos, IMG_0003.JPG, UPPER.JPG, the Latin-1 name
        raw_name = os.fsencode(photos / "zoo") + b"/caf\xe9-\xff.jpg"
        assert raw_name in {os.fsencode(library.photo(i).path) for i in library.vector_index().ids()}
        again = _run(library, embedder)  # nothing is decoded again, nothing dies again
        assert again[-1].phase == "done" and again[-1].total == 0 and _reasons(library) == reasons


@pytest.mark.slow
def test_the_zoo_through_the_command_line(tmp_path, photos, sketchy_root, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ZSSBIR_DATA_DIR", str(tmp_path / "data"))
    good = next(photos.rglob("*.jpg")).read_bytes()
    _zoo(photos / "zoo", good)
    library = str(tmp_path / "library")
    assert main(["index", "--library", library, "--add", str(photos), *MODEL, "--progress", "json"]) == 0
    capsys.readouterr()
    assert main(["library", "--library", library]) == 0
    out = capsys.readouterr().out
    assert "tall-1x12000.png: image too elongated" in out and "IMG_0002.CR2: RAW camera file" in out
    tall = str(photos / "zoo" / "tall-1x12000.png")
    sketch = str(first_sketch(sketchy_root, "apple"))
    assert main(["search", "--library", library, "--sketch", tall, sketch, "--k", "50"]) == 2
    captured = capsys.readouterr()
    assert "too elongated" in captured.err and "Traceback" not in captured.err
    assert "caf\\xe9-\\xff.jpg" in captured.out  # the Latin-1 name, shown readably
    output = tmp_path / "embedded.npz"
    assert main(["embed", str(photos / "zoo"), "--output", str(output), *MODEL]) == 0
    err = capsys.readouterr().err
    assert "tall-1x12000.png: image too elongated" in err and "wrote 3 embeddings" in err


# -- the index file is verified before hnswlib reads it --------------------------------------


_SEARCH = """
import sys
from zssbir_core.library import PhotoLibrary
with PhotoLibrary.open(sys.argv[1], create=False) as library:
    print(len(library.search_vectors(library.vector(1), k=3)))
"""


@pytest.mark.subprocess
@pytest.mark.parametrize("offset", [48, 52])  # hnswlib's header: max level, entry point
def test_a_corrupted_index_file_is_rebuilt_not_crashed_on(tmp_path, photos, embedder, offset) -> None:
    with PhotoLibrary.open(tmp_path / "library") as library:
        library.add_folder(photos)
        _run(library, embedder)
    index_file = next((tmp_path / "library" / "index").glob("*.hnsw"))
    data = bytearray(index_file.read_bytes())
    data[offset : offset + 4] = (0x7FFFFFF0).to_bytes(4, "little")
    index_file.write_bytes(bytes(data))
    environment = dict(os.environ, PYTHONPATH=str(REPO))
    for _ in range(2):  # the first search rebuilds (and saves), the second loads the good file
        done = subprocess.run([sys.executable, "-c", _SEARCH, str(tmp_path / "library")],
                              capture_output=True, text=True, env=environment)
        assert done.returncode == 0 and done.stdout.strip() == "3", done.stderr
    assert index_file.read_bytes() != bytes(data)


def test_a_reader_never_writes_index_files_while_a_writer_holds_the_lock(tmp_path, photos, embedder) -> None:
    with PhotoLibrary.open(tmp_path / "library") as library:
        library.add_folder(photos)
        _run(library, embedder)
    index_dir = tmp_path / "library" / "index"
    (index_dir / "index.json").write_text("{}")  # stale: a reader rebuilds it
    before = {p.name: p.read_bytes() for p in index_dir.iterdir()}
    writer = WriterLock(tmp_path / "library" / "writer.lock")
    assert writer.try_acquire()
    try:
        with PhotoLibrary.open(tmp_path / "library", create=False) as reader:
            assert len(reader.search_vectors(reader.vector(1), k=3)) == 3
        assert {p.name: p.read_bytes() for p in index_dir.iterdir()} == before
    finally:
        writer.release()
    with PhotoLibrary.open(tmp_path / "library", create=False) as reader:  # no writer: the reader saves
        reader.search_vectors(reader.vector(1), k=3)
    assert json.loads((index_dir / "index.json").read_text())["count"] == 4


# -- the database -------------------------------------------------------------------------------


def _indexed_library(tmp_path: Path, photos: Path, embedder) -> Path:
    with PhotoLibrary.open(tmp_path / "library") as library:
        library.add_folder(photos)
        _run(library, embedder)
    return tmp_path / "library"


def _damage_pages(database: Path) -> None:
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(database.read_bytes())
    page = 4096
    for start in range(page, len(data), page):  # every page after the first: headers and cells
        data[start : start + 64] = b"\xa5" * 64
    database.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["pages", "schema-text", "schema-newer", "generation", "dimension"])
def test_a_damaged_database_is_a_clear_error_not_a_traceback(tmp_path, photos, embedder, capsys, damage) -> None:
    library = _indexed_library(tmp_path, photos, embedder)
    database = library / "library.sqlite"
    if damage == "pages":
        _damage_pages(database)
    else:
        key, value = {"schema-text": ("schema_version", "one"), "schema-newer": ("schema_version", "99"),
                      "generation": ("generation", "x"), "dimension": ("embedding_dim", "-3")}[damage]
        with sqlite3.connect(database) as db:
            db.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
    command = ["search", "--library", str(library), "--sketch", str(next(photos.rglob("*.jpg"))), *MODEL]
    status = main(command)
    err = capsys.readouterr().err
    if damage == "generation":  # only a cache counter: repaired, and the index is rebuilt
        assert status == 0, err
    else:
        assert status == 2 and err.count("\n") == 1 and "Traceback" not in err, err


def test_another_programs_sqlite_file_is_never_adopted(tmp_path, capsys) -> None:
    folder = tmp_path / "library"
    folder.mkdir()
    database = folder / "library.sqlite"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE contacts (name TEXT)")
        db.execute("INSERT INTO contacts VALUES ('Ada')")
    before = database.read_bytes()
    for command in (["library"], ["index", "--add", str(tmp_path)]):
        assert main([*command, "--library", str(folder)]) == 2
        assert "not a zssbir library" in capsys.readouterr().err
    assert database.read_bytes() == before
    with pytest.raises(LibraryError, match="not a zssbir library"):
        PhotoLibrary.open(folder)


# -- the command line ---------------------------------------------------------------------------


def test_read_only_commands_never_create_a_library(tmp_path, capsys) -> None:
    mistyped = tmp_path / "mistyped" / "libary"
    assert main(["library", "--library", str(mistyped)]) == 2
    assert main(["search", "--library", str(mistyped), "--sketch", "x.png"]) == 2
    assert capsys.readouterr().err.count("holds no zssbir library") == 2
    assert not (tmp_path / "mistyped").exists()


@pytest.mark.parametrize(
    "arguments",
    [
        ["index", "--workers", "-1"],
        ["index", "--workers", "0"],
        ["index", "--batch-size", "-1"],
        ["index", "--batch-size", "0"],
        ["index", "--image-size", "0"],
        ["index", "--image-size", "1000000"],
        ["search", "--sketch", "x.png", "--k", "0"],
        ["search", "--sketch", "x.png", "--image-size", "-5"],
        ["embed", "x.png", "--model", "m", "--output", "o.npz", "--batch-size", "0"],
        ["embed", "x.png", "--model", "m", "--output", "o.npz", "--workers", "-1"],
        ["eval", "--model", "m", "--data", "d", "--image-size", "99999"],
        ["train", "--epochs", "0"],
        ["train", "--batch-size", "two"],
    ],
)
def test_bad_numbers_are_refused_before_anything_runs(tmp_path, capsys, arguments) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*arguments, *(["--library", str(tmp_path / "lib")] if arguments[0] in ("index", "search") else [])])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "must be" in err or "whole number" in err
    assert not (tmp_path / "lib").exists()


def test_exclude_patterns_are_added_and_removed_from_the_command_line(tmp_path, capsys) -> None:
    library = str(tmp_path / "library")
    assert main(["index", "--library", library, "--exclude", "*.tmp", "Screenshots"]) == 0
    assert main(["index", "--library", library, "--remove-exclude", "*.tmp"]) == 0
    assert main(["index", "--library", library, "--remove-exclude", "nope"]) == 2
    assert "not an exclude pattern" in capsys.readouterr().err
    with PhotoLibrary.open(library) as opened:
        assert opened.exclude_patterns() == ["Screenshots"]


# -- folders: links, the library itself, exclude rules, .nomedia ---------------------------------


def test_links_to_the_library_or_out_of_the_watched_folders_are_not_followed(tmp_path, photos, embedder) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(next(photos.rglob("*.jpg")), elsewhere / "outside.jpg")
    (photos / "to-library").symlink_to(tmp_path / "library")
    (photos / "to-root").symlink_to("/")
    (photos / "to-elsewhere").symlink_to(elsewhere)
    (photos / "apple" / "loop").symlink_to(photos)
    with PhotoLibrary.open(tmp_path / "library") as library:
        library.add_folder(photos)
        _run(library, embedder)
        first = library.photo_count()
        _run(library, embedder)  # the library's thumbnails never become photos
        assert first == library.photo_count() == 4
        assert not any("thumbnails" in str(library.photo(i).path) for i in library.vector_index().ids())
    with pytest.raises(LibraryError, match="library's own folder"):
        with PhotoLibrary.open(tmp_path / "library") as library:
            library.add_folder(photos / "to-library")


def test_exclude_rules_match_names_paths_and_absolute_paths_in_any_case() -> None:
    rules = ExcludeRules(["*.jpg", "*/Screenshots/*", "/home/me/Photos/private", "drafts", "./2020/*"])
    assert rules.excludes("a.png", "2020/a.png", "/p/2020/a.png")
    assert rules.excludes("UPPER.JPG", "a/UPPER.JPG", "/p/a/UPPER.JPG")
    assert rules.excludes("Screenshots", "Screenshots", "/p/Screenshots")  # top level, the folder itself
    assert rules.excludes("x.png", "a/screenshots/x.png", "/p/a/screenshots/x.png")
    assert rules.excludes("private", "private", "/home/me/Photos/private")
    assert rules.excludes("x.png", "private/x.png", "/home/me/photos/PRIVATE/x.png")
    assert rules.excludes("Drafts", "2019/Drafts", "/p/2019/Drafts")
    assert not rules.excludes("x.png", "privateer/x.png", "/home/me/Photos/privateer/x.png")
    assert not rules.excludes("x.png", "a/x.png", "/p/a/x.png")


def test_nomedia_and_remembered_patterns_leave_folders_out(tmp_path, photos, embedder) -> None:
    (photos / "apple" / ".nomedia").write_bytes(b"")
    for name in ("Screenshots", "deep"):
        (photos / name).mkdir()
        shutil.copy(next((photos / "bear").glob("*.jpg")), photos / name / "SHOT.JPG")
    with PhotoLibrary.open(tmp_path / "library") as library:
        library.add_folder(photos)
        library.set_exclude_patterns(["*/Screenshots/*", str(photos / "DEEP")])
        _run(library, embedder)
        assert library.photo_count() == 2  # bear only
        library.remove_exclude_patterns([str(photos / "DEEP")])
        _run(library, embedder)
        assert library.photo_count() == 3


# -- random damage to every file the library reads -------------------------------------------------


def _library_files(tmp_path: Path) -> Path:
    """A real library (real SQLite file, real hnswlib index) with a few photos of 32-d vectors."""
    import numpy as np

    from zssbir_core.library.store import NewEmbedding

    with PhotoLibrary.open(tmp_path / "clean") as library:
        library.store.set_meta("embedding_dim", "32")
        library.store.switch_model("m")
        vectors = np.random.default_rng(0).normal(size=(40, 32)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        items = [NewEmbedding(f"/p/{i}.jpg", 10, 20, 8, 8, f"{i:024x}", v) for i, v in enumerate(vectors)]
        library.store.write_embeddings("m", items)
        library.rebuild_index()
    with sqlite3.connect(tmp_path / "clean" / "library.sqlite") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return tmp_path / "clean"


def _mutate(data: bytes, rng) -> bytes:
    data = bytearray(data)
    kind = rng.integers(4)
    if kind == 0 and len(data) > 1:
        return bytes(data[: rng.integers(len(data))])  # truncated
    for _ in range(int(rng.integers(1, 16))):
        position = int(rng.integers(len(data)))
        data[position] = int(rng.integers(256)) if kind != 3 else data[position] ^ (1 << int(rng.integers(8)))
    return bytes(data)


@pytest.mark.slow
def test_randomly_damaged_library_files_give_answers_or_clear_errors(tmp_path) -> None:
    import numpy as np

    clean = _library_files(tmp_path)
    rng = np.random.default_rng(11)
    names = ["library.sqlite", "index/index.json", next((clean / "index").glob("*.hnsw")).relative_to(clean)]
    outcomes = {"answered": 0, "refused": 0}
    for case in range(240):
        work = tmp_path / f"case{case % 4}"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(clean, work)
        target = work / names[case % 3]
        target.write_bytes(_mutate(target.read_bytes(), rng))
        try:
            with PhotoLibrary.open(work, create=False) as library:
                library.folders(), library.skipped(), library.exclude_patterns()
                vector = library.vector(1)
                if vector is not None and vector.shape == (32,):
                    library.search_vectors(vector, k=5)
            outcomes["answered"] += 1
        except LibraryError:
            outcomes["refused"] += 1
    assert outcomes["answered"] > 0 and outcomes["refused"] > 0 and sum(outcomes.values()) == 240


def test_the_library_remembers_an_unfinished_run(tmp_path, photos, embedder) -> None:
    import threading

    with PhotoLibrary.open(tmp_path / "library") as library:
        assert not library.indexing_unfinished
        library.add_folder(photos)
        assert library.indexing_unfinished  # a new folder waits for a run
        cancel = threading.Event()
        for event in library.index(embedder, batch_size=1, cancel=cancel):
            if event.phase == "embed" and event.done:
                cancel.set()
        assert event.phase == "cancelled"
    with PhotoLibrary.open(tmp_path / "library", create=False) as library:
        assert library.indexing_unfinished  # another process sees it too
        _run(library, embedder)
        assert not library.indexing_unfinished
