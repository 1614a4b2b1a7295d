"""The library's search index in memory and on disk: loaded, rebuilt and saved in one place.

The saved index is a cache of the database's vectors. Any process may load it or rebuild it in
memory, but only the holder of the library's writer lock writes index files: a reader that finds
the saved index stale saves its rebuild only if it can take the writer lock at once.
"""

from __future__ import annotations

import threading
from pathlib import Path

from zssbir_core.errors import LibraryError
from zssbir_core.index import HnswParams, IndexMismatchError, PhotoIndex, vector_index_class
from zssbir_core.library.lock import WriterLock
from zssbir_core.library.store import LibraryStore


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
            try:
                self._index = vector_index_class().load(
                    self.directory, model_id=model_id, generation=generation,
                    count=self.store.vector_count(model_id), params=self.params, dim=self._dim(),
                )
            except IndexMismatchError:
                self.rebuild()
            return self._index

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
                index.save(self.directory, index.generation)
            elif self._try_lock():
                try:
                    if index.generation == self.store.generation():
                        index.save(self.directory, index.generation)
                except (OSError, LibraryError):
                    pass  # a reader's save is a favour to the next reader; the search goes on
                finally:
                    self.writer_lock.release()

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
