"""Issue 21 items 5 and 7: the saved index (exact or hnswlib) is a cache of the SQLite vectors, so
any damage to its files (a flipped byte, ids reordered in a valid file, a link to /dev/zero, a
FIFO) makes the library rebuild it from the database with a log line; never an uncaught error,
never a hang, never wrong photos. Real SQLite, real numpy/hnswlib index files."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from zssbir_core.index import HnswParams, vector_index_class
from zssbir_core.index.backend import BACKEND_VARIABLE
from zssbir_core.library.index_cache import IndexCache
from zssbir_core.library.lock import WriterLock
from zssbir_core.library.store import DATABASE_NAME, LibraryStore, NewEmbedding

DIM = 16
COUNT = 60


def _vectors(seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(COUNT, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(params=["exact", "hnswlib"])
def backend(request, monkeypatch) -> str:
    if request.param == "exact":
        monkeypatch.setenv(BACKEND_VARIABLE, "exact")
    else:
        monkeypatch.delenv(BACKEND_VARIABLE, raising=False)
        pytest.importorskip("hnswlib")
    return request.param


@pytest.fixture()
def library(tmp_path: Path, backend: str) -> Path:
    """A library folder whose database holds COUNT vectors and whose index is saved."""
    store = LibraryStore(tmp_path / DATABASE_NAME)
    store.set_meta("embedding_dim", str(DIM))
    store.switch_model("m")
    store.write_embeddings("m", [NewEmbedding(f"/photos/{i}.jpg", 1, 1, 1, 1, f"k{i}", v)
                                 for i, v in enumerate(_vectors())])
    cache = _cache(tmp_path, store)
    assert cache.current() is not None
    store.close()
    return tmp_path


def _cache(folder: Path, store: LibraryStore | None = None) -> IndexCache:
    store = store or LibraryStore(folder / DATABASE_NAME, create=False)
    return IndexCache(store, folder / "index", WriterLock(folder / "writer.lock"), HnswParams())


def _truth(folder: Path) -> dict[int, np.ndarray]:
    store = LibraryStore(folder / DATABASE_NAME, create=False)
    found = {i: v for ids, vs in store.iter_vectors("m", DIM) for i, v in zip(ids, vs)}
    store.close()
    return found


def _search_is_right(folder: Path, caplog) -> None:
    """A fresh process's view of the library answers every query with its own photo first."""
    truth = _truth(folder)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="zssbir_core.library.index_cache"):
        index = _cache(folder).current()
    for photo_id, vector in list(truth.items())[:10]:
        assert index.search(vector, 1)[0][0] == photo_id
    assert any("rebuilt from the database" in r.getMessage() for r in caplog.records), "a log line says so"


def _index_file(folder: Path) -> Path:
    return next(p for p in (folder / "index").iterdir() if p.suffix in (".npz", ".hnsw"))


def _manifest(folder: Path) -> Path:
    return next(p for p in (folder / "index").iterdir() if p.suffix == ".json")


def test_a_flipped_byte_in_the_index_file_rebuilds_it(library: Path, caplog) -> None:
    path = _index_file(library)
    data = bytearray(path.read_bytes())
    for offset in (10, len(data) // 2, len(data) - 30):  # zip header, data, central directory
        damaged = bytearray(data)
        damaged[offset] ^= 0xFF
        path.write_bytes(bytes(damaged))
        _search_is_right(library, caplog)
        path = _index_file(library)


def test_ids_reordered_in_a_self_consistent_file_are_caught_against_sqlite(library: Path, caplog, backend) -> None:
    """The file and its manifest agree (sizes, checksum), but the ids are reversed: only a check
    against the database's own vectors can tell."""
    if backend != "exact":
        pytest.skip("hnswlib's file format is opaque; its ids are checked by the same sample test below")
    path = _index_file(library)
    with np.load(path) as saved:
        ids, vectors = saved["ids"], saved["vectors"]
    buffer = io.BytesIO()
    np.savez(buffer, ids=ids[::-1].copy(), vectors=vectors)
    path.write_bytes(buffer.getvalue())
    manifest = json.loads(_manifest(library).read_text())
    manifest["index_bytes"] = path.stat().st_size
    if "index_sha256" in manifest:
        manifest["index_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    _manifest(library).write_text(json.dumps(manifest))
    _search_is_right(library, caplog)


def test_a_vector_changed_in_the_database_is_caught_by_the_sample(library: Path, caplog) -> None:
    store = LibraryStore(library / DATABASE_NAME, create=False)
    with store.transaction() as db:
        db.execute("UPDATE embeddings SET vector = ? WHERE photo_id = (SELECT MIN(photo_id) FROM embeddings)",
                   (_vectors(seed=7)[0].tobytes(),))
    store.close()
    _search_is_right(library, caplog)


def test_a_manifest_linked_to_dev_zero_is_refused_at_once(library: Path, caplog) -> None:
    manifest = _manifest(library)
    manifest.unlink()
    manifest.symlink_to("/dev/zero")
    _search_is_right(library, caplog)


@pytest.mark.parametrize("which", ["manifest", "index file"])
def test_a_fifo_in_place_of_an_index_file_never_blocks(library: Path, caplog, which: str) -> None:
    path = _manifest(library) if which == "manifest" else _index_file(library)
    path.unlink()
    os.mkfifo(path)
    outcome: list[object] = []

    def search() -> None:
        try:
            _search_is_right(library, caplog)
            outcome.append("ok")
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            outcome.append(error)

    worker = threading.Thread(target=search, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "blocked on the FIFO"
    assert outcome == ["ok"]


def test_the_rebuilt_index_replaces_the_damage_on_disk(library: Path, caplog, backend: str) -> None:
    _index_file(library).write_bytes(b"PK\x03\x04 not a zip at all")
    _search_is_right(library, caplog)
    cls = vector_index_class()
    store = LibraryStore(library / DATABASE_NAME, create=False)
    loaded = cls.load(library / "index", model_id="m", generation=store.generation(), count=COUNT, dim=DIM)
    assert loaded.count == COUNT
    store.close()


def test_an_index_that_is_only_out_of_date_is_rebuilt_without_a_warning(library: Path, caplog) -> None:
    """Another process indexed since the save: ordinary, so the log line is INFO, not WARNING."""
    store = LibraryStore(library / DATABASE_NAME, create=False)
    store.write_embeddings("m", [NewEmbedding("/photos/new.jpg", 1, 1, 1, 1, "knew", _vectors(seed=3)[0])])
    store.close()
    with caplog.at_level(logging.INFO, logger="zssbir_core.library.index_cache"):
        assert _cache(library).current().count == COUNT + 1
    levels = {r.levelname for r in caplog.records if "rebuilt from the database" in r.getMessage()}
    assert levels == {"INFO"}
