"""The library's search index in memory and on disk: loaded, rebuilt and saved in one place.

The saved index is a cache of the database's vectors. Any process may load it or rebuild it in
memory, but only the holder of the library's writer lock writes index files: a reader that finds
the saved index stale saves its rebuild only if it can take the writer lock at once.

A loaded index is checked against the database before it is used: the same set of photo ids, and
a sample of its vectors equal to the database's. A file that fails any check (damaged, reordered,
stale, a FIFO or a link in its place) is rebuilt from the database's vectors, with a log line. A
save that fails (a full disk, a read-only folder) is logged and the index in memory still serves:
the database holds the vectors, so the next run rebuilds the file.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from zssbir_core.errors import LibraryError, ZssbirError
from zssbir_core.index import HnswParams, IndexMismatchError, PhotoIndex, vector_index_class
from zssbir_core.library.lock import WriterLock
from zssbir_core.library.store import LibraryStore

log = logging.getLogger(__name__)
RELOAD_AFTER_S = 0.05
"""A saved index that fails its checks is read once more after this long before it is rebuilt."""
SAMPLE = 32
"""Vectors of a loaded index compared with the database's (spread over the ids)."""


class IndexCache:
    """The current ``PhotoIndex`` of a library; thread-safe (``guard`` serialises changes)."""

    def __init__(self, store: LibraryStore, directory: Path, writer_lock: WriterLock, params: HnswParams) -> None:
        self.store = store
        self.directory = directory
        self.writer_lock = writer_lock
        self.params = params
        self.guard = threading.RLock()
        self.run_active = threading.Event()
        """Set while an indexing run of this process writes the library."""
        self.closed = False
        self._index: PhotoIndex | None = None

    @property
    def loaded(self) -> PhotoIndex | None:
        """The index in memory, as it is (None if none was loaded yet)."""
        return self._index

    def current(self) -> PhotoIndex | None:
        """The index of the library's model, loaded or rebuilt as needed (None before any run).

        Reloaded when another process changed the library; kept as it is while a writer runs.
        """
        with self.guard:
            model_id = self.store.meta("model_id")
            if model_id is None:
                return None
            generation = self.store.generation()
            current = self._index
            if current is not None and current.model_id == model_id and current.generation == generation:
                return current
            if current is not None and current.model_id == model_id:
                other_writer = not self.writer_lock.held and not self.writer_lock.is_free()
                if self.run_active.is_set() or other_writer:
                    return current  # a run is writing: use what we have until it is done
            for attempt in range(2):
                try:
                    loaded = vector_index_class().load(
                        self.directory, model_id=model_id, generation=generation,
                        count=self.store.vector_count(model_id), params=self.params, dim=self._dim(),
                    )
                    self._agrees_with_database(loaded, model_id)
                    self._index = loaded
                    break
                except IndexMismatchError as error:
                    stale = error.stale or self.store.generation() != generation  # changed meanwhile
                    if not stale and attempt == 0:
                        time.sleep(RELOAD_AFTER_S)  # another process may be between its file and its manifest
                        continue
                    log.log(logging.INFO if stale else logging.WARNING,
                            "the saved index of %s is not used (%s): rebuilt from the database's vectors",
                            self.directory.parent, error)
                    self.rebuild()
                    break
            return self._index

    def _agrees_with_database(self, index: PhotoIndex, model_id: str) -> None:
        """Raise ``IndexMismatchError`` unless ``index`` holds the database's ids and a sample of its vectors."""
        ids = self.store.vector_ids(model_id)
        if index.ids() != set(ids):
            raise IndexMismatchError("the index holds other photo ids than the database")
        for photo_id in ids[:: max(1, len(ids) // SAMPLE)]:
            stored, indexed = self.store.vector_of(photo_id, model_id), index.vector(photo_id)
            if stored is None or indexed is None or stored.shape != indexed.shape:
                raise IndexMismatchError(f"photo {photo_id} has no vector of the index's size")
            norm = float(np.linalg.norm(stored)) * float(np.linalg.norm(indexed))
            if not norm > 0 or float(stored @ indexed) / norm < 0.999:
                raise IndexMismatchError(f"the index's vector of photo {photo_id} differs from the database's")

    def rebuild(self) -> PhotoIndex:
        """Build the index afresh from the database's vectors; saved if this process may write."""
        with self.guard:
            model_id = self.store.meta("model_id")
            if model_id is None:
                raise LibraryError("nothing is indexed yet")
            generation = self.store.generation()
            dim = self._dim()
            index = vector_index_class()(
                dim, model_id=model_id, params=self.params, capacity=int(self.store.vector_count(model_id) * 1.1) + 16
            )
            for ids, vectors in self.store.iter_vectors(model_id, dim):
                index.add(ids, vectors)
            index.generation = generation
            self._index = index
            self.save()
            return index

    def save(self) -> None:
        """Save the in-memory index if it reflects the database and this process may write.

        A process that does not hold the writer lock takes it only if it is free at once, and a
        failure to save is then ignored (the index in memory serves its searches all the same).
        """
        with self.guard:
            index = self._index
            if self.closed or index is None or index.generation != self.store.generation():
                return
            if self.writer_lock.held:
                self._save(index)
            elif self._try_lock():
                try:
                    if index.generation == self.store.generation():
                        self._save(index)
                finally:
                    self.writer_lock.release()

    def _save(self, index: PhotoIndex) -> None:
        try:
            index.save(self.directory, index.generation)
        except (OSError, ZssbirError) as error:  # the database is the truth: the next load rebuilds
            log.warning("the index of %s is not saved (%s); searches use the one in memory",
                        self.directory.parent, error)

    def _try_lock(self) -> bool:
        try:
            return self.writer_lock.try_acquire()
        except LibraryError:  # a read-only library: searches work, nothing is saved
            return False

    def _dim(self) -> int:
        text = self.store.meta("embedding_dim") or ""
        if not text.isdigit() or not 0 < int(text) <= 65536:
            raise LibraryError(f"the library database holds a bad embedding size {text!r}; index the library again")
        return int(text)
