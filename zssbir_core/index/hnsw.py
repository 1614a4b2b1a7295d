"""The approximate nearest-neighbour index over photo embeddings: hnswlib behind a read/write lock.

Vectors are L2-normalised and compared by cosine similarity; labels are the photo ids of the
library's SQLite database. The index is a cache of those vectors: it is saved atomically next to
a JSON manifest (format version, dimension, space, parameters, live count, the model it holds,
the library generation it reflects and the SHA-256 of the index file), and ``VectorIndex.load``
refuses a manifest with a field of the wrong type or range, and a file whose size or checksum
differs from its manifest or that does not match what the caller expects, so that the caller
rebuilds it from the database. hnswlib trusts its file completely (a changed entry point crashes
the process), so no file reaches it unverified.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

try:
    import hnswlib
except ImportError:  # built without a C++ compiler: zssbir_core.index.backend picks the exact index
    hnswlib = None

from zssbir_core.atomic import TEMP_SUFFIX, atomic_path, write_text_atomic
from zssbir_core.errors import LibraryError
from zssbir_core.index.rwlock import ReadWriteLock
from zssbir_core.paths import bytes_on_disk
from zssbir_core.safe_read import read_regular, sha256_regular

HNSWLIB_AVAILABLE = hnswlib is not None
"""False when hnswlib is not installed (``zssbir_core.index.backend`` then picks exact search)."""

FORMAT_VERSION = 2
SPACE = "cosine"
MANIFEST_NAME = "index.json"
EXACT_SEARCH_LIMIT = 4096
"""A folder filter allowing at most this many photos is answered by exact search."""
MAX_DIM = 65536
STALE_TEMP_S = 3600.0
"""Temporary files older than this in the index folder are left over from a killed process."""


@dataclass(frozen=True)
class HnswParams:
    """Graph degree, construction beam and search beam (hnswlib searches with max(ef, k))."""

    M: int = 16
    ef_construction: int = 100
    ef_search: int = 512


@dataclass(frozen=True)
class IndexManifest:
    """What an index file on disk holds; written after the file, read before it."""

    format_version: int
    dim: int
    space: str
    params: HnswParams
    count: int
    capacity: int
    model_id: str
    generation: int
    index_file: str
    index_bytes: int
    index_sha256: str
    deleted: list[int]

    @classmethod
    def read(cls, path: Path) -> IndexManifest:
        """The manifest in ``path``; ValueError when a field is missing or of the wrong type or range."""
        # bounded and non-blocking: a link to /dev/zero or a FIFO in its place is refused at once
        data = json.loads(read_regular(path, MAX_MANIFEST_BYTES).decode("utf-8"))
        if not isinstance(data, dict) or set(data) != _MANIFEST_FIELDS:
            raise ValueError("manifest fields differ from the expected ones")
        params = data["params"]
        if not isinstance(params, dict) or set(params) != {"M", "ef_construction", "ef_search"}:
            raise ValueError("bad params")
        for name in ("M", "ef_construction", "ef_search"):
            _check_int(params[name], name, 1, 1 << 16)
        for name in ("format_version", "dim", "count", "capacity", "generation", "index_bytes"):
            _check_int(data[name], name, 0, 1 << 62)
        for name in ("space", "model_id", "index_file", "index_sha256"):
            if not isinstance(data[name], str):
                raise ValueError(f"{name} is not a string")
        if not _INDEX_FILE.fullmatch(data["index_file"]):
            raise ValueError("index_file is not an index file name")
        if not isinstance(data["deleted"], list):
            raise ValueError("deleted is not a list")
        for label in data["deleted"]:
            _check_int(label, "deleted id", 0, 1 << 62)
        data["params"] = HnswParams(**params)
        return cls(**data)


MAX_MANIFEST_BYTES = 256 << 20
_MANIFEST_FIELDS = {field for field in IndexManifest.__dataclass_fields__}
_INDEX_FILE = re.compile(r"index-[0-9]{1,19}\.hnsw")


def _check_int(value: object, name: str, low: int, high: int) -> None:
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"{name} is not an integer in [{low}, {high}]")


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


MAX_INDEX_BYTES = 1 << 40
"""Never read more than this from an index file, whatever its manifest says."""


class IndexMismatchError(LibraryError):
    """The index on disk is missing, damaged or stale; rebuild it from the database.

    ``stale``: it is only out of date or missing (another process changed the library), not damaged.
    """

    def __init__(self, message: str, *, stale: bool = False) -> None:
        super().__init__(message)
        self.stale = stale


_HEADER = struct.Struct("<QQQQQQiIQQQdQ")  # hnswlib's saveIndex header (hnswalg.h)


def check_saved_file(path: Path, elements: int) -> None:
    """Raise ``LibraryError`` unless ``path`` is a complete hnswlib file of ``elements`` elements.

    hnswlib writes with a C++ stream and reports no write error: on a full disk it leaves a
    truncated file. Its layout is a header, the level-0 block of every element, then per element a
    4-byte size and that many bytes of upper-level links; walking the sizes must end exactly at
    the end of the file, as hnswlib's own loader checks.
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        header = handle.read(_HEADER.size)
        complete = len(header) == _HEADER.size
        if complete:
            count, per_element = _HEADER.unpack(header)[2:4]
            position = _HEADER.size + count * per_element
            complete = count == elements and position + 4 * count <= size
        if complete:
            handle.seek(position)
            tail = handle.read(size - position)
            offset, walked = 0, 0
            while walked < count and offset + 4 <= len(tail):
                offset += 4 + struct.unpack_from("<I", tail, offset)[0]
                walked += 1
            complete = walked == count and offset == len(tail) and position + len(tail) == size
    if not complete:
        raise LibraryError(f"the index file {path.name} was not written completely (is the disk full?)")


def checked_vectors(ids: Sequence[int], vectors: np.ndarray, dim: int) -> np.ndarray:
    """``vectors`` as contiguous finite float32 rows, one per id, of dimension ``dim`` (else ValueError)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape != (len(ids), dim):
        raise ValueError(f"expected {len(ids)} vectors of dimension {dim}, got shape {vectors.shape}")
    if not np.isfinite(vectors).all():
        raise ValueError("vectors that are not finite numbers (NaN or infinity) cannot be indexed")
    return vectors


def checked_query(vector: np.ndarray, dim: int) -> np.ndarray:
    """``vector`` as a finite float32 vector of dimension ``dim`` (else LibraryError)."""
    query = np.asarray(vector, dtype=np.float32).reshape(-1)
    if query.shape[0] != dim:
        raise LibraryError(f"query vector has dimension {query.shape[0]}, the index holds {dim}")
    if not np.isfinite(query).all():
        raise LibraryError("the model gave a query vector that is not finite numbers (NaN or infinity); "
                           "nothing can be ranked by it (use another model)")
    return query


class VectorIndex:
    """hnswlib index with growing capacity, deletion tracking and thread-safe search.

    Searches share a read lock; adds, removals and loads take it exclusively, so searching while
    another thread indexes is safe.
    """

    def __init__(
        self,
        dim: int,
        *,
        model_id: str,
        params: HnswParams = HnswParams(),
        capacity: int = 1024,
        _index: hnswlib.Index | None = None,
        _deleted: Iterable[int] = (),
    ) -> None:
        self.dim = int(dim)
        self.model_id = model_id
        self.params = params
        self.generation = 0
        self._lock = ReadWriteLock()
        if _index is None:
            _index = hnswlib.Index(space=SPACE, dim=self.dim)
            _index.init_index(max_elements=max(capacity, 16), M=params.M, ef_construction=params.ef_construction)
        self._index = _index
        self._index.set_ef(params.ef_search)
        self._deleted: set[int] = set(int(i) for i in _deleted)
        self._live: set[int] = set(int(i) for i in self._index.get_ids_list()) - self._deleted

    # -- facts -------------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """Live (searchable) vectors."""
        return len(self._live)

    @property
    def deleted_count(self) -> int:
        """Vectors marked deleted but still taking room in the graph."""
        return len(self._deleted)

    def set_ef_search(self, ef: int) -> None:
        """Change the search beam (larger: better recall, slower queries)."""
        with self._lock.write():
            self.params = replace(self.params, ef_search=int(ef))
            self._index.set_ef(int(ef))

    @property
    def capacity(self) -> int:
        return int(self._index.get_max_elements())

    def needs_compaction(self, ratio: float = 0.25) -> bool:
        """Whether deleted elements make up more than ``ratio`` of the graph (rebuild it then)."""
        return len(self._deleted) > 64 and len(self._deleted) > ratio * (len(self._live) + len(self._deleted))

    def __contains__(self, photo_id: int) -> bool:
        return int(photo_id) in self._live

    def ids(self) -> set[int]:
        """A copy of the live labels."""
        with self._lock.read():
            return set(self._live)

    def vector(self, photo_id: int) -> np.ndarray | None:
        """The stored (normalised) vector of ``photo_id`` (None when it is not live)."""
        with self._lock.read():
            if int(photo_id) not in self._live:
                return None
            row: np.ndarray = np.asarray(self._index.get_items([int(photo_id)]), dtype=np.float32)[0]
            return row

    # -- changes -----------------------------------------------------------------------------

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Insert or replace vectors (rows L2-normalised, float32) under the given photo ids."""
        if len(ids) == 0:
            return
        vectors = checked_vectors(ids, vectors, self.dim)
        labels = np.asarray(ids, dtype=np.int64)
        with self._lock.write():
            new = sum(1 for i in labels.tolist() if i not in self._live and i not in self._deleted)
            needed = self._index.element_count + new
            if needed > self._index.get_max_elements():
                self._index.resize_index(max(needed, 2 * self._index.get_max_elements()))
            self._index.add_items(vectors, labels)
            for label in labels.tolist():
                self._deleted.discard(label)
                self._live.add(label)

    def remove(self, ids: Iterable[int]) -> None:
        """Mark ids deleted (unknown ids are ignored); search never returns them again."""
        with self._lock.write():
            for label in ids:
                label = int(label)
                if label in self._live:
                    self._index.mark_deleted(label)
                    self._live.discard(label)
                    self._deleted.add(label)

    # -- search ------------------------------------------------------------------------------

    def search(
        self, vector: np.ndarray, k: int, *, allowed: set[int] | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest live ids to ``vector`` as (id, cosine similarity), best first.

        ``k`` is clamped to the number of candidates; ``allowed`` limits the answer to those ids
        (small sets are searched exactly).
        """
        query = checked_query(vector, self.dim).reshape(1, -1)
        with self._lock.read():
            candidates = self._live if allowed is None else self._live & allowed
            k = min(int(k), len(candidates))
            if k <= 0:
                return []
            if allowed is not None and len(candidates) <= EXACT_SEARCH_LIMIT:
                return self._exact(query, sorted(candidates), k)
            keep = None if allowed is None else candidates.__contains__
            try:  # hnswlib searches with a beam of max(ef, k)
                labels, distances = self._index.knn_query(query, k=k, num_threads=1, filter=keep)
            except RuntimeError:  # hnswlib could not fill k results: answer exactly
                return self._exact(query, sorted(candidates), k)
        return [(int(label), float(1.0 - distance)) for label, distance in zip(labels[0], distances[0])]

    def _exact(self, query: np.ndarray, labels: list[int], k: int) -> list[tuple[int, float]]:
        vectors = np.asarray(self._index.get_items(labels), dtype=np.float32)
        scores = vectors @ (query[0] / max(float(np.linalg.norm(query[0])), 1e-12))
        top = np.argsort(-scores, kind="stable")[:k]
        return [(labels[i], float(scores[i])) for i in top]

    # -- persistence -------------------------------------------------------------------------

    def save(self, directory: Path, generation: int) -> IndexManifest:
        """Write ``index-<generation>.hnsw`` then the manifest, each via a unique temp file and rename.

        At every moment the manifest names a complete index file; older files are removed last.
        Only one process may save into ``directory`` at a time (the library's writer lock).
        """
        directory.mkdir(parents=True, exist_ok=True)
        if directory.resolve() != directory.parent.resolve() / directory.name:
            raise LibraryError(f"{directory} is a link to another folder: the index is not saved there")
        name = f"index-{generation}.hnsw"
        with atomic_path(directory / name) as temp:
            with self._lock.read():
                self._index.save_index(str(temp))
                check_saved_file(temp, self._index.element_count)
                manifest = IndexManifest(
                    format_version=FORMAT_VERSION,
                    dim=self.dim,
                    space=SPACE,
                    params=self.params,
                    count=len(self._live),
                    capacity=self._index.get_max_elements(),
                    model_id=self.model_id,
                    generation=int(generation),
                    index_file=name,
                    index_bytes=temp.stat().st_size,
                    index_sha256=file_sha256(temp),
                    deleted=sorted(self._deleted),
                )
        write_text_atomic(directory / MANIFEST_NAME, json.dumps(asdict(manifest), indent=1))
        self.generation = int(generation)
        for old in directory.glob("index-*.hnsw"):
            if old.name != name:
                old.unlink(missing_ok=True)
        for temp in directory.glob(f".*{TEMP_SUFFIX}"):  # left by a killed process
            try:
                if time.time() - temp.stat().st_mtime > STALE_TEMP_S:
                    temp.unlink(missing_ok=True)
            except OSError:
                pass
        return manifest

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        model_id: str,
        generation: int,
        count: int,
        params: HnswParams = HnswParams(),
        dim: int | None = None,
    ) -> VectorIndex:
        """Load the saved index if it matches its manifest (size and checksum) and the expected
        model, generation, live count and ``dim``; otherwise raise ``IndexMismatchError`` saying
        what is wrong."""
        manifest_path = directory / MANIFEST_NAME
        try:
            manifest = IndexManifest.read(manifest_path)
        except FileNotFoundError:
            raise IndexMismatchError("no index manifest", stale=True) from None
        except (OSError, ValueError, TypeError, KeyError, RecursionError) as error:
            raise IndexMismatchError(f"unreadable index manifest ({error})") from None
        problems = []
        if manifest.format_version != FORMAT_VERSION or manifest.space != SPACE:
            problems.append(f"format {manifest.format_version}/{manifest.space}")
        if manifest.model_id != model_id:
            problems.append(f"built with model {manifest.model_id!r}, library uses {model_id!r}")
        if manifest.generation != generation:
            problems.append(f"generation {manifest.generation}, library is at {generation}")
        if manifest.count != count:
            problems.append(f"holds {manifest.count} vectors, library has {count}")
        if manifest.params.M != params.M or manifest.params.ef_construction != params.ef_construction:
            problems.append("built with other graph parameters")
        if dim is not None and manifest.dim != dim:
            problems.append(f"holds {manifest.dim}-d vectors, library has {dim}-d")
        if not 0 < manifest.dim <= MAX_DIM:
            problems.append(f"dimension {manifest.dim} out of range")
        index_path = directory / manifest.index_file
        stale = bool(problems)  # the header differs: the file is another generation's, not checked
        if not problems:
            try:
                st = os.lstat(index_path)
                if not stat.S_ISREG(st.st_mode):
                    problems.append("index file is not a regular file")
                elif st.st_size != manifest.index_bytes:
                    problems.append("index file size does not match its manifest (truncated?)")
                elif sha256_regular(index_path, min(manifest.index_bytes, MAX_INDEX_BYTES)) != manifest.index_sha256:
                    problems.append("index file checksum does not match its manifest (damaged)")
            except OSError as error:
                problems.append(f"index file missing or unreadable ({error})")
        if problems:
            raise IndexMismatchError("; ".join(problems), stale=stale)
        index = hnswlib.Index(space=SPACE, dim=manifest.dim)
        try:  # the file's own capacity (covered by the checksum), never the manifest's
            index.load_index(str(index_path))
        except (RuntimeError, MemoryError, ValueError) as error:
            raise IndexMismatchError(f"index file cannot be loaded ({error})") from None
        loaded = cls(
            manifest.dim, model_id=model_id, params=params, _index=index, _deleted=manifest.deleted
        )
        if loaded.count != count:
            raise IndexMismatchError(f"index file holds {loaded.count} live vectors, expected {count}")
        loaded.generation = generation
        return loaded

    def disk_bytes(self, directory: Path) -> int:
        """Bytes the saved index and manifest take in ``directory``."""
        return bytes_on_disk(directory.glob("index*"))
