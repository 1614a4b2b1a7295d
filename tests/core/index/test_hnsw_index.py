"""VectorIndex on real hnswlib: answers, growth, deletes, filters, saves, refusals, concurrency."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from zssbir_core.errors import LibraryError
from zssbir_core.index import HnswParams, IndexMismatchError, VectorIndex
from zssbir_core.index.rwlock import ReadWriteLock


def _vectors(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _exact(vectors: np.ndarray, ids: list[int], query: np.ndarray, k: int) -> list[int]:
    scores = vectors @ query
    return [ids[i] for i in np.argsort(-scores)[:k]]


def test_search_matches_exact_search_and_capacity_grows() -> None:
    vectors = _vectors(2000)
    ids = list(range(100, 2100))
    index = VectorIndex(32, model_id="m", capacity=16)
    for start in range(0, 2000, 250):
        index.add(ids[start : start + 250], vectors[start : start + 250])
    assert index.count == 2000 and index.capacity >= 2000
    hits = 0
    for q in range(50):
        found = [i for i, _ in index.search(vectors[q * 7], 10)]
        hits += len(set(found) & set(_exact(vectors, ids, vectors[q * 7], 10)))
    assert hits / 500 >= 0.98
    best, score = index.search(vectors[3], 1)[0]
    assert best == 103 and score == pytest.approx(1.0, abs=1e-5)


def test_k_is_clamped_and_deleted_ids_never_return() -> None:
    vectors = _vectors(20)
    index = VectorIndex(32, model_id="m")
    index.add(list(range(1, 21)), vectors)
    assert len(index.search(vectors[0], 100)) == 20
    index.remove(range(1, 16))
    index.remove([1, 999])  # already deleted and unknown ids are ignored
    results = index.search(vectors[0], 100)
    assert sorted(i for i, _ in results) == [16, 17, 18, 19, 20]
    assert index.count == 5 and index.deleted_count == 15
    index.add([3], vectors[3:4])  # a deleted id comes back with a new vector
    assert 3 in index and index.search(vectors[3], 1)[0][0] == 3


def test_replacing_a_vector_moves_the_photo() -> None:
    vectors = _vectors(50)
    index = VectorIndex(32, model_id="m")
    index.add(list(range(50)), vectors)
    index.add([7], vectors[40:41])
    assert index.count == 50
    assert {i for i, _ in index.search(vectors[40], 2)} == {7, 40}


def test_folder_filter_small_and_large() -> None:
    vectors = _vectors(6000)
    index = VectorIndex(32, model_id="m")
    index.add(list(range(6000)), vectors)
    small = set(range(0, 6000, 600))
    results = index.search(vectors[5], 3, allowed=small)
    assert [i for i, _ in results] == _exact(vectors[sorted(small)], sorted(small), vectors[5], 3)
    large = set(range(0, 6000, 2))
    results = index.search(vectors[11], 5, allowed=large)
    assert len(results) == 5 and all(i in large for i, _ in results)
    assert index.search(vectors[0], 5, allowed=set()) == []


def test_compaction_is_needed_when_deletes_pile_up() -> None:
    index = VectorIndex(32, model_id="m")
    index.add(list(range(400)), _vectors(400))
    index.remove(range(50))
    assert not index.needs_compaction()
    index.remove(range(50, 150))
    assert index.needs_compaction()


def test_wrong_dimension_is_refused() -> None:
    index = VectorIndex(32, model_id="m")
    index.add([1], _vectors(1))
    with pytest.raises(LibraryError, match="dimension"):
        index.search(np.ones(8, dtype=np.float32), 1)
    with pytest.raises(ValueError):
        index.add([2], np.ones((1, 8), dtype=np.float32))


def test_save_and_load_round_trip(tmp_path) -> None:
    vectors = _vectors(300)
    index = VectorIndex(32, model_id="m", params=HnswParams(ef_search=77))
    index.add(list(range(300)), vectors)
    index.remove([5, 6])
    index.save(tmp_path, generation=4)
    index.add([300], _vectors(1, seed=1))
    index.save(tmp_path, generation=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index-5.hnsw", "index.json"]
    loaded = VectorIndex.load(tmp_path, model_id="m", generation=5, count=299, params=HnswParams(ef_search=77))
    assert loaded.count == 299 and loaded.deleted_count == 2 and loaded.generation == 5
    assert loaded._index.ef == 77  # ef is set again after load (hnswlib resets it)
    assert 5 not in loaded and loaded.search(vectors[9], 1)[0][0] == 9


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model_id": "other"}, "model"),
        ({"generation": 3}, "generation"),
        ({"count": 7}, "vectors"),
    ],
)
def test_load_refuses_a_stale_index(tmp_path, change, message) -> None:
    index = VectorIndex(32, model_id="m")
    index.add(list(range(10)), _vectors(10))
    index.save(tmp_path, generation=2)
    expected = {"model_id": "m", "generation": 2, "count": 10} | change
    with pytest.raises(IndexMismatchError, match=message):
        VectorIndex.load(tmp_path, **expected)


def test_load_refuses_missing_truncated_or_garbled_files(tmp_path) -> None:
    with pytest.raises(IndexMismatchError, match="no index manifest"):
        VectorIndex.load(tmp_path, model_id="m", generation=1, count=10)
    index = VectorIndex(32, model_id="m")
    index.add(list(range(10)), _vectors(10))
    index.save(tmp_path, generation=1)
    data = (tmp_path / "index-1.hnsw").read_bytes()
    (tmp_path / "index-1.hnsw").write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexMismatchError, match="truncated"):
        VectorIndex.load(tmp_path, model_id="m", generation=1, count=10)
    (tmp_path / "index.json").write_text("{not json")
    with pytest.raises(IndexMismatchError, match="unreadable"):
        VectorIndex.load(tmp_path, model_id="m", generation=1, count=10)


def test_searches_run_while_another_thread_adds() -> None:
    vectors = _vectors(3000)
    index = VectorIndex(32, model_id="m", capacity=16)
    index.add(list(range(100)), vectors[:100])
    errors: list[BaseException] = []
    stop = threading.Event()

    def search() -> None:
        try:
            while not stop.is_set():
                for _id, score in index.search(vectors[0], 10):
                    assert -1.01 <= score <= 1.01
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    readers = [threading.Thread(target=search) for _ in range(3)]
    for reader in readers:
        reader.start()
    for start in range(100, 3000, 100):
        index.add(list(range(start, start + 100)), vectors[start : start + 100])
        index.remove([start - 50])
    stop.set()
    for reader in readers:
        reader.join()
    assert not errors
    assert index.count == 3000 - 29


def test_read_write_lock_excludes_writers() -> None:
    lock = ReadWriteLock()
    inside: list[str] = []
    with lock.read(), lock.read():  # readers share
        pass
    entered = threading.Event()

    def writer() -> None:
        with lock.write():
            inside.append("writer")
            entered.set()

    with lock.read():
        thread = threading.Thread(target=writer)
        thread.start()
        assert not entered.wait(0.2)  # a reader holds the lock
    thread.join()
    assert inside == ["writer"]


_LOAD_CORRUPTED = """
import sys
from pathlib import Path
from zssbir_core.index import IndexMismatchError, VectorIndex
try:
    VectorIndex.load(Path(sys.argv[1]), model_id="m", generation=1, count=10)
except IndexMismatchError as error:
    print("refused:", error)
else:
    print("loaded")
"""


@pytest.mark.subprocess
@pytest.mark.parametrize("offset", [48, 52])  # hnswlib's header: max level, then entry point
def test_same_size_corruption_is_refused_before_hnswlib_sees_it(tmp_path, offset) -> None:
    import subprocess
    import sys

    index = VectorIndex(32, model_id="m")
    index.add(list(range(10)), _vectors(10))
    index.save(tmp_path, generation=1)
    path = tmp_path / "index-1.hnsw"
    data = bytearray(path.read_bytes())
    data[offset : offset + 4] = (0x7FFFFFF0).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    done = subprocess.run([sys.executable, "-c", _LOAD_CORRUPTED, str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr  # a segfault would be -11
    assert "refused:" in done.stdout and "checksum" in done.stdout


@pytest.mark.parametrize(
    "change",
    [
        {"count": "10"},
        {"generation": 1.0},
        {"dim": True},
        {"params": [16, 100, 512]},
        {"params": {"M": "16", "ef_construction": 100, "ef_search": 512}},
        {"deleted": {"1": 2}},
        {"deleted": [-1]},
        {"index_file": "../../victim.hnsw"},
        {"index_sha256": None},
        {"model_id": 7},
        {"extra": 1},
        {"dim": 10**12},
    ],
)
def test_bad_manifest_field_types_are_refused_not_raised(tmp_path, change) -> None:
    index = VectorIndex(32, model_id="m")
    index.add(list(range(10)), _vectors(10))
    index.save(tmp_path, generation=1)
    manifest = json.loads((tmp_path / "index.json").read_text())
    (tmp_path / "index.json").write_text(json.dumps(manifest | change))
    with pytest.raises(IndexMismatchError):
        VectorIndex.load(tmp_path, model_id="m", generation=1, count=10)


@pytest.mark.parametrize("document", ["[1, 2]", "null", "7", '"text"', "[" * 100000])
def test_manifest_that_is_not_an_object_is_refused(tmp_path, document) -> None:
    (tmp_path / "index.json").write_text(document)
    with pytest.raises(IndexMismatchError, match="unreadable"):
        VectorIndex.load(tmp_path, model_id="m", generation=1, count=10)


def test_saves_use_unique_temp_files_and_leave_none(tmp_path) -> None:
    index = VectorIndex(32, model_id="m")
    index.add(list(range(10)), _vectors(10))
    other = tmp_path / ".index-1.hnsw.someone-else.tmp"
    other.write_bytes(b"a save in progress elsewhere")
    index.save(tmp_path, generation=1)
    assert other.exists()  # a fresh temp file of another writer is not deleted
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "index-1.hnsw", "index.json"]


def test_an_index_folder_that_links_elsewhere_is_never_written_or_cleaned(tmp_path) -> None:
    elsewhere = tmp_path / "users-folder"
    elsewhere.mkdir()
    (elsewhere / "index-7.hnsw").write_bytes(b"a user's file with an unlucky name")
    (tmp_path / "index").symlink_to(elsewhere)
    index = VectorIndex(32, model_id="m")
    index.add(list(range(10)), _vectors(10))
    with pytest.raises(LibraryError, match="link to another folder"):
        index.save(tmp_path / "index", generation=1)
    assert sorted(p.name for p in elsewhere.iterdir()) == ["index-7.hnsw"]


@pytest.mark.parametrize("name", ["index.json", "index-1.hnsw"])
def test_a_file_replaced_by_a_link_to_an_endless_device_is_refused(tmp_path, name) -> None:
    index = VectorIndex(32, model_id="m")
    index.add(list(range(10)), _vectors(10))
    index.save(tmp_path, generation=1)
    if name == "index-1.hnsw":  # a manifest that agrees with an empty file
        manifest = json.loads((tmp_path / "index.json").read_text())
        (tmp_path / "index.json").write_text(json.dumps(manifest | {"index_bytes": 0}))
    (tmp_path / name).unlink()
    (tmp_path / name).symlink_to("/dev/zero")
    with pytest.raises(IndexMismatchError):
        VectorIndex.load(tmp_path, model_id="m", generation=1, count=10)
