"""Exact nearest-neighbour search over the stored vectors with numpy: the index used when hnswlib
cannot be imported (it has no binary wheel on PyPI, so installing it needs a C++ compiler).

``ExactIndex`` has ``VectorIndex``'s interface (``zssbir_core.index.hnsw``) and answers every
query exactly: one matrix-vector product over all live vectors (about 30-60 ms at 100k photos on
one thread). It saves ``exact-<generation>.npz`` (ids and vectors) beside its own manifest
``exact.json``, atomically. ``load`` reads both files bounded and without blocking (a FIFO or a
link to ``/dev/zero`` in their place is refused at once), checks the manifest's fields, the
file's size and SHA-256, and the arrays' types, shapes and values, and refuses anything that does
not match what the caller expects with ``IndexMismatchError``, so that the caller rebuilds the
index from the database as it does for the hnswlib index; numpy never sees an unchecked file.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from zssbir_core.atomic import atomic_path, write_text_atomic
from zssbir_core.index.hnsw import HnswParams, IndexMismatchError, checked_query, checked_vectors
from zssbir_core.index.rwlock import ReadWriteLock
from zssbir_core.safe_read import read_regular

FORMAT_VERSION = 2
MANIFEST_NAME = "exact.json"
MAX_MANIFEST_BYTES = 1 << 16
MAX_DIM = 65536
_NPZ_OVERHEAD = 1 << 16


@dataclass(frozen=True)
class ExactManifest:
    """What the saved exact index holds."""

    format_version: int
    dim: int
    count: int
    model_id: str
    generation: int
    index_file: str
    index_bytes: int
    index_sha256: str

    @classmethod
    def read(cls, path: Path) -> ExactManifest:
        """The manifest in ``path`` (read bounded, never blocking); ValueError or OSError when it is
        not a manifest with every field of the right type and range."""
        data = json.loads(read_regular(path, MAX_MANIFEST_BYTES).decode("utf-8"))
        if not isinstance(data, dict) or set(data) != set(cls.__dataclass_fields__):
            raise ValueError("manifest fields differ from the expected ones")
        for name, high in (("format_version", 1 << 16), ("dim", MAX_DIM), ("count", 1 << 40),
                           ("generation", 1 << 63), ("index_bytes", 1 << 50)):
            if type(data[name]) is not int or not 0 <= data[name] <= high:
                raise ValueError(f"{name} is not an integer in [0, {high}]")
        for name in ("model_id", "index_file", "index_sha256"):
            if not isinstance(data[name], str):
                raise ValueError(f"{name} is not a string")
        return cls(**data)


class ExactIndex:
    """Live vectors in one float32 matrix (rows L2-normalised), searched exhaustively.

    ``params`` is kept for the interface only: exact search has no graph and no beam.
    """

    def __init__(
        self, dim: int, *, model_id: str, params: HnswParams = HnswParams(), capacity: int = 1024
    ) -> None:
        self.dim = int(dim)
        self.model_id = model_id
        self.params = params
        self.generation = 0
        self._lock = ReadWriteLock()
        self._vectors = np.zeros((max(int(capacity), 16), self.dim), dtype=np.float32)
        self._ids = np.zeros(len(self._vectors), dtype=np.int64)
        self._row: dict[int, int] = {}

    @property
    def count(self) -> int:
        """Live (searchable) vectors."""
        return len(self._row)

    @property
    def deleted_count(self) -> int:
        """Always 0: removed vectors leave no trace."""
        return 0

    @property
    def capacity(self) -> int:
        return len(self._vectors)

    def set_ef_search(self, ef: int) -> None:
        """Nothing to tune: the search is exact."""

    def needs_compaction(self, ratio: float = 0.25) -> bool:
        return False

    def __contains__(self, photo_id: int) -> bool:
        return int(photo_id) in self._row

    def ids(self) -> set[int]:
        """A copy of the live labels."""
        with self._lock.read():
            return set(self._row)

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Insert or replace vectors (rows L2-normalised, float32) under the given photo ids."""
        if len(ids) == 0:
            return
        vectors = checked_vectors(ids, vectors, self.dim)
        with self._lock.write():
            for label, vector in zip((int(i) for i in ids), vectors):
                row = self._row.get(label)
                if row is None:
                    row = len(self._row)
                    if row == len(self._vectors):
                        self._grow(2 * len(self._vectors))
                    self._row[label] = row
                    self._ids[row] = label
                self._vectors[row] = vector

    def _grow(self, capacity: int) -> None:
        vectors = np.zeros((capacity, self.dim), dtype=np.float32)
        vectors[: len(self._vectors)] = self._vectors
        ids = np.zeros(capacity, dtype=np.int64)
        ids[: len(self._ids)] = self._ids
        self._vectors, self._ids = vectors, ids

    def remove(self, ids: Iterable[int]) -> None:
        """Drop ids (unknown ids are ignored): the last row moves into the freed one."""
        with self._lock.write():
            for label in ids:
                row = self._row.pop(int(label), None)
                if row is None:
                    continue
                last = len(self._row)
                if row != last:
                    moved = int(self._ids[last])
                    self._vectors[row] = self._vectors[last]
                    self._ids[row] = moved
                    self._row[moved] = row

    def search(
        self, vector: np.ndarray, k: int, *, allowed: set[int] | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest live ids to ``vector`` as (id, cosine similarity), best first."""
        query = checked_query(vector, self.dim)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        with self._lock.read():
            if allowed is None:
                rows = np.arange(len(self._row))
            else:
                rows = np.fromiter((self._row[i] for i in allowed if i in self._row), dtype=np.int64)
            k = min(int(k), len(rows))
            if k <= 0:
                return []
            scores = self._vectors[rows] @ query if allowed is not None else self._vectors[: len(rows)] @ query
            top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
            top = top[np.lexsort((self._ids[rows[top]], -scores[top]))]
            return [(int(self._ids[rows[i]]), float(scores[i])) for i in top]

    def save(self, directory: Path, generation: int) -> ExactManifest:
        """Write ``exact-<generation>.npz`` then the manifest, each via a temp file and rename."""
        directory.mkdir(parents=True, exist_ok=True)
        name = f"exact-{int(generation)}.npz"
        with self._lock.read():
            count = len(self._row)
            buffer = io.BytesIO()
            np.savez(buffer, ids=self._ids[:count], vectors=self._vectors[:count])
        data = buffer.getvalue()
        with atomic_path(directory / name) as temp, open(temp, "wb") as handle:
            handle.write(data)
        manifest = ExactManifest(FORMAT_VERSION, self.dim, count, self.model_id, int(generation), name,
                                 len(data), hashlib.sha256(data).hexdigest())
        write_text_atomic(directory / MANIFEST_NAME, json.dumps(asdict(manifest), indent=1))
        self.generation = int(generation)
        for old in directory.glob("exact-*.npz*"):
            if old.name != name:
                old.unlink(missing_ok=True)
        return manifest

    @classmethod
    def load(
        cls, directory: Path, *, model_id: str, generation: int, count: int, params: HnswParams = HnswParams(),
        dim: int | None = None,
    ) -> ExactIndex:
        """Load the saved index if it matches its manifest and the expected model, generation and
        live count; otherwise raise ``IndexMismatchError`` saying what is wrong."""
        try:
            manifest = ExactManifest.read(directory / MANIFEST_NAME)
        except FileNotFoundError:
            raise IndexMismatchError("no exact index manifest", stale=True) from None
        except (OSError, ValueError, TypeError, RecursionError) as error:
            raise IndexMismatchError(f"unreadable exact index manifest ({error})") from None
        expected = (FORMAT_VERSION, model_id, generation, count)
        found = (manifest.format_version, manifest.model_id, manifest.generation, manifest.count)
        if found != expected:
            raise IndexMismatchError(f"exact index holds {found}, expected {expected} (format, model, generation, count)",
                                     stale=True)
        if manifest.index_file != f"exact-{generation}.npz" or not 0 < manifest.dim <= MAX_DIM:
            raise IndexMismatchError("exact index manifest names another file or a bad size")
        if dim is not None and manifest.dim != dim:
            raise IndexMismatchError(f"exact index has dimension {manifest.dim}, the library's vectors {dim}", stale=True)
        ids, vectors = _read_arrays(directory / manifest.index_file, manifest)
        index = cls(manifest.dim, model_id=model_id, params=params, capacity=count)
        index.add(ids.tolist(), vectors)
        index.generation = generation
        return index

    def vector(self, photo_id: int) -> np.ndarray | None:
        """The stored vector of ``photo_id`` (None when it is not in the index)."""
        with self._lock.read():
            row = self._row.get(int(photo_id))
            return None if row is None else self._vectors[row].copy()

    def disk_bytes(self, directory: Path) -> int:
        """Bytes the saved index and manifest take in ``directory``."""
        return sum(p.stat().st_size for p in directory.glob("exact*") if p.is_file())


def _read_arrays(path: Path, manifest: ExactManifest) -> tuple[np.ndarray, np.ndarray]:
    """The checked (ids, vectors) of the index file ``path``; ``IndexMismatchError`` otherwise."""
    most = manifest.count * (manifest.dim * 4 + 8) + _NPZ_OVERHEAD
    try:
        data = read_regular(path, min(most, manifest.index_bytes))
    except OSError as error:
        raise IndexMismatchError(f"exact index file cannot be read ({error})") from None
    if len(data) != manifest.index_bytes or hashlib.sha256(data).hexdigest() != manifest.index_sha256:
        raise IndexMismatchError("exact index file does not match its manifest's size and checksum (damaged)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            ids, vectors = arrays["ids"], arrays["vectors"]
    except Exception as error:  # noqa: BLE001 - zipfile, zlib and numpy raise anything on a damaged file
        raise IndexMismatchError(f"exact index file cannot be loaded ({type(error).__name__}: {error})") from None
    count, dim = manifest.count, manifest.dim
    if ids.dtype != np.int64 or vectors.dtype != np.float32 or vectors.shape != (count, dim) or ids.shape != (count,):
        raise IndexMismatchError("exact index file does not match its manifest")
    if count and (int(ids.min()) < 0 or len(np.unique(ids)) != count or not np.isfinite(vectors).all()):
        raise IndexMismatchError("exact index file holds negative or repeated ids or non-finite vectors")
    return ids, vectors
