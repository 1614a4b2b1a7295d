"""PhotoLibrary indexing on real photos with the real Lite0 model: incremental runs, moves,
hostile files, missing folders, cancel and resume, model changes, index rebuilds, concurrency."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.core.library_helpers import copy_photos, embedder, other_embedder  # noqa: F401 - fixtures
from zssbir_core.errors import LibraryError
from zssbir_core.library import PhotoLibrary


def _run(library: PhotoLibrary, model, **options) -> list:
    return list(library.index(model, batch_size=options.pop("batch_size", 4), **options))


def _paths(library: PhotoLibrary) -> dict[str, int]:
    rows = library.store._query("SELECT path, id FROM photos")
    return dict(rows)


@pytest.fixture()
def photos(tmp_path: Path, sketchy_root: Path) -> Path:
    root = tmp_path / "photos"
    copy_photos(sketchy_root, root, {"apple": 4, "bear": 4})
    return root


@pytest.fixture()
def library(tmp_path: Path):
    with PhotoLibrary.open(tmp_path / "library") as opened:
        yield opened


def test_first_run_indexes_and_the_next_skips_unchanged(library, photos, embedder) -> None:
    library.add_folder(photos)
    events = _run(library, embedder)
    assert [e.phase for e in events][0] == "embed"
    assert [e.phase for e in events][-3:] == ["sweep", "save", "done"]
    embed = [e for e in events if e.phase == "embed"]
    assert embed[-1].done == embed[-1].total == 8 and embed[-1].rate > 0
    assert library.photo_count() == 8 and library.model_id == "lite0-imagenet@64"
    assert library.folders()[0].photo_count == 8
    record = library.photo(1)
    assert (record.width, record.height) == (256, 256) and library.thumbnail(1).exists()

    again = _run(library, embedder)
    assert again[-1].phase == "done" and again[-1].total == 0
    assert library.photo_count() == 8


def test_changed_new_and_deleted_files(library, photos, embedder) -> None:
    library.add_folder(photos)
    _run(library, embedder)
    before = _paths(library)
    changed = photos / "apple" / sorted(os.listdir(photos / "apple"))[0]
    old_vector = library.vector(before[str(changed)])
    Image.open(changed).transpose(Image.Transpose.ROTATE_90).save(changed, quality=70)
    deleted = photos / "bear" / sorted(os.listdir(photos / "bear"))[0]
    deleted_thumb = library.thumbnails.path_for(library.photo(before[str(deleted)]).thumb_key)
    deleted.unlink()
    Image.new("RGB", (90, 60), (10, 200, 30)).save(photos / "bear" / "new.png")

    events = _run(library, embedder)
    assert events[-1].total == 2  # the changed file and the new one
    after = _paths(library)
    assert str(deleted) not in after and not deleted_thumb.exists()
    assert after[str(changed)] == before[str(changed)]  # same id, new vector
    assert not np.allclose(library.vector(after[str(changed)]), old_vector)
    assert str(photos / "bear" / "new.png") in after and library.photo_count() == 8
    index = library.vector_index()
    assert index.ids() == set(after.values())


def test_moved_folder_keeps_ids_and_is_not_embedded_again(library, photos, embedder) -> None:
    library.add_folder(photos)
    _run(library, embedder)
    before = _paths(library)
    (photos / "old").mkdir()
    shutil.move(photos / "apple", photos / "old" / "apple")
    events = _run(library, embedder)
    assert events[-1].total == 0
    after = _paths(library)
    assert sorted(after.values()) == sorted(before.values()) and len(after) == 8
    assert all("/old/apple/" in p for p in after if "apple" in p)


def test_hostile_files_are_skipped_with_reasons(library, photos, embedder, tmp_path) -> None:
    library.add_folder(photos)
    zoo = photos / "zoo"
    zoo.mkdir()
    good = (photos / "apple" / sorted(os.listdir(photos / "apple"))[0]).read_bytes()
    (zoo / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (zoo / "empty.jpg").write_bytes(b"")
    (zoo / "text.png").write_text("hello")
    Image.new("1", (20000, 10000)).save(zoo / "bomb.png")
    os.symlink(zoo / "loop_b.jpg", zoo / "loop_a.jpg")
    os.symlink(zoo / "loop_a.jpg", zoo / "loop_b.jpg")
    os.symlink(zoo / "nowhere.jpg", zoo / "broken.jpg")
    os.symlink(photos, zoo / "back_to_root")  # a folder loop
    with open(os.fsencode(zoo) + b"/latin1-\xe9t\xe9.jpg", "wb") as handle:
        handle.write(good)
    (zoo / ".hidden.jpg").write_bytes(good)
    (zoo / ".cache").mkdir()
    (zoo / ".cache" / "x.jpg").write_bytes(good)
    (zoo / "draft.tmp.jpg").write_bytes(good)
    (zoo / "notes.txt").write_text("not a photo")
    vanishing = zoo / "vanishing.jpg"
    vanishing.write_bytes(good)

    run = library.index(embedder, batch_size=4, exclude=["*.tmp.jpg"])
    first = next(run)
    assert first.phase == "embed" and first.total == 8 + 5  # 8 photos, 3 broken, latin1, vanishing.jpg
    assert first.skipped == 4  # found broken by the scan: empty, two loops, a broken link
    vanishing.unlink()  # gone between the scan and its decoding
    events = [first, *run]
    assert events[-1].phase == "done"
    reasons = {Path(s.path).name: s.reason for s in library.skipped()}
    assert reasons["truncated.jpg"] == "truncated or corrupt image data"
    assert reasons["empty.jpg"] == "empty file"
    assert "not an image" in reasons["text.png"]
    assert "decompression bomb" in reasons["bomb.png"]
    assert reasons["loop_a.jpg"] == reasons["loop_b.jpg"] == "symbolic link loop"
    assert reasons["broken.jpg"] == "broken symbolic link"
    assert reasons["vanishing.jpg"] == "file not found"
    assert events[-1].skipped == len(reasons) == 8
    assert library.photo_count() == 9  # hidden, excluded, non-image and looped paths left out
    latin1 = os.fsencode(zoo) + b"/latin1-\xe9t\xe9.jpg"  # indexed under its own bytes
    assert latin1 in {os.fsencode(library.photo(i).path) for i in library.vector_index().ids()}

    # Unchanged broken files are not decoded again; fixed ones are indexed.
    (zoo / "truncated.jpg").write_bytes(good)
    events = _run(library, embedder, exclude=["*.tmp.jpg"])
    assert events[-1].total == 1 and library.photo_count() == 10
    assert "truncated.jpg" not in {Path(s.path).name for s in library.skipped()}
    library.set_exclude_patterns(["zoo"])  # remembered patterns apply to every run
    _run(library, embedder)
    assert library.photo_count() == 8 and not library.skipped()


def test_missing_folder_keeps_its_photos(library, photos, embedder, tmp_path) -> None:
    library.add_folder(photos)
    _run(library, embedder)
    photos.rename(tmp_path / "unplugged")
    _run(library, embedder)
    assert library.photo_count() == 8
    assert any("folder not found" in s.reason for s in library.skipped())
    (tmp_path / "unplugged").rename(photos)
    assert _run(library, embedder)[-1].total == 0 and not library.skipped()


def test_cancel_keeps_what_was_done_and_the_next_run_resumes(library, photos, embedder) -> None:
    library.add_folder(photos)
    cancel = threading.Event()
    events = []
    for event in library.index(embedder, batch_size=2, cancel=cancel):
        events.append(event)
        if event.phase == "embed" and event.done >= 4:
            cancel.set()
    assert events[-1].phase == "cancelled"
    assert library.photo_count() == 4
    assert not library.is_indexing and library.writer_lock.is_free()
    resumed = _run(library, embedder)
    assert resumed[-1].total == 4 and library.photo_count() == 8


@pytest.mark.slow
def test_one_writer_at_a_time(library, photos, embedder, tmp_path) -> None:
    library.add_folder(photos)
    run = library.index(embedder, batch_size=2)
    next(run)
    with PhotoLibrary.open(tmp_path / "library") as other:
        with pytest.raises(LibraryError, match="being indexed"):
            list(other.index(embedder))
        with pytest.raises(LibraryError, match="being indexed"):
            other.remove_folder(photos)
    with pytest.raises(LibraryError, match="cancel it"):
        library.remove_folder(photos)
    list(run)
    assert library.photo_count() == 8


def test_search_while_another_thread_indexes(library, photos, embedder, sketchy_root) -> None:
    copy_photos(sketchy_root, photos, {"cabin": 6, "castle": 6})
    library.add_folder(photos / "apple")
    _run(library, embedder)
    library.add_folder(photos)
    query = library.vector(1)
    errors: list[BaseException] = []
    seen_counts = set()

    def index() -> None:
        try:
            _run(library, embedder, batch_size=2)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    thread = threading.Thread(target=index)
    thread.start()
    while thread.is_alive():
        results = library.search_vectors(query, k=50)
        assert results and all(r.path.is_file() for r in results)
        seen_counts.add(len(results))
    thread.join()
    assert not errors
    assert len(library.search_vectors(query, k=50)) == 20
    assert max(seen_counts) <= 20


def test_index_is_rebuilt_from_the_database(tmp_path, photos, embedder) -> None:
    with PhotoLibrary.open(tmp_path / "library") as library:
        library.add_folder(photos)
        _run(library, embedder)
        query = library.vector(3)
        expected = library.search_vectors(query, k=5)
    index_dir = tmp_path / "library" / "index"
    index_file = next(index_dir.glob("*.hnsw"))

    index_file.unlink()
    with PhotoLibrary.open(tmp_path / "library") as library:
        assert library.search_vectors(query, k=5) == expected
    index_file = next(index_dir.glob("*.hnsw"))
    data = index_file.read_bytes()
    index_file.write_bytes(data[: len(data) // 2])
    with PhotoLibrary.open(tmp_path / "library") as library:
        assert library.search_vectors(query, k=5) == expected
    (index_dir / "index.json").write_text("garbage")
    with PhotoLibrary.open(tmp_path / "library") as library:
        assert library.search_vectors(query, k=5) == expected


def test_a_new_model_re_embeds_everything_before_the_index_switches(library, photos, embedder, other_embedder) -> None:
    library.add_folder(photos)
    _run(library, embedder)
    other = other_embedder  # another input size is another model id
    cancel = threading.Event()
    for event in library.index(other, batch_size=2, cancel=cancel):
        if event.phase == "embed" and event.done >= 4:
            cancel.set()
    assert library.model_id == "lite0-imagenet@64"  # half way: the old model still answers
    assert len(library.search_vectors(library.vector(1), k=20)) == 8

    events = _run(library, other)
    assert events[-1].total == 4
    assert library.model_id == "lite0-imagenet@72"
    assert library.store.vector_count("lite0-imagenet@64") == 0
    assert library.store.vector_count("lite0-imagenet@72") == 8
    assert library.vector_index().model_id == "lite0-imagenet@72"


def test_folder_rules(library, photos, tmp_path) -> None:
    with pytest.raises(LibraryError, match="not a folder"):
        library.add_folder(tmp_path / "nope")
    library.add_folder(photos / "apple")
    library.add_folder(photos / "bear")
    assert library.add_folder(photos / "apple") == photos / "apple"  # again: nothing changes
    with pytest.raises(LibraryError, match="already watched as part of"):
        (photos / "apple" / "inner").mkdir()
        library.add_folder(photos / "apple" / "inner")
    library.add_folder(photos)  # a parent replaces the folders it contains
    assert [f.path for f in library.folders()] == [photos]
    with pytest.raises(LibraryError, match="not a watched folder"):
        library.remove_folder(photos / "apple")
    with pytest.raises(LibraryError, match="library's own folder"):
        library.add_folder(library.directory)


def test_a_folder_that_is_not_a_library_is_refused(tmp_path) -> None:
    (tmp_path / "pictures").mkdir()
    (tmp_path / "pictures" / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(LibraryError, match="not empty and holds no zssbir library"):
        PhotoLibrary.open(tmp_path / "pictures")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "library.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(LibraryError, match="is damaged"):
        PhotoLibrary.open(tmp_path / "broken")


def test_remove_folder_drops_its_photos(library, photos, embedder) -> None:
    library.add_folder(photos)
    _run(library, embedder)
    library.add_folder(photos)
    assert library.remove_folder(photos) == 8
    assert library.photo_count() == 0 and library.folders() == []
    assert library.search_vectors(np.ones(1280, dtype=np.float32), k=5) == []
    assert not list(library.thumbnails.directory.rglob("*.jpg"))
