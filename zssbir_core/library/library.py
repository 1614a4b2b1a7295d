"""``PhotoLibrary``: watched folders of photos, their vectors, thumbnails and the search index.

A library is a directory::

    library.sqlite    folders, photos (path, size, mtime, dimensions, thumbnail key), vectors
                      per model, skipped files with reasons, meta (model id, generation,
                      exclude patterns, whether an indexing run is unfinished)
    thumbnails/       small JPEGs of every photo
    index/            index-<generation>.hnsw + index.json (a cache, rebuilt from the database
                      when it is missing, damaged or stale)
    writer.lock       held while a process indexes or changes folders

Every method is thread-safe: the app searches from one thread while another indexes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zssbir_core import paths
from zssbir_core.errors import LibraryError
from zssbir_core.imageio import open_image
from zssbir_core.index import HnswParams, PhotoIndex
from zssbir_core.library import excludes
from zssbir_core.library.index_cache import IndexCache
from zssbir_core.library.indexer import UNFINISHED_KEY, run_indexing
from zssbir_core.library.lock import WriterLock
from zssbir_core.library.parts import LibraryParts
from zssbir_core.library.records import FolderInfo, IndexProgress, PhotoRecord, SearchResult, SkippedFile
from zssbir_core.library.store import DATABASE_NAME, LibraryStore
from zssbir_core.library.thumbnails import THUMBNAIL_SIZE, ThumbnailCache

if TYPE_CHECKING:
    from zssbir_core.models.registry import Embedder

INDEX_DIR = "index"
THUMBNAIL_DIR = "thumbnails"
LOCK_NAME = "writer.lock"


def folder_key(path: str | os.PathLike[str]) -> str:
    """The absolute, normalised, ``/``-separated form in which folders and photos are stored."""
    return os.path.abspath(os.path.expanduser(os.fspath(path))).replace(os.sep, "/")


class PhotoLibrary:
    """A photo library directory; open it with ``PhotoLibrary.open(directory)``."""

    def __init__(self, directory: Path, *, params: HnswParams = HnswParams(), create: bool = True) -> None:
        """Open the library in ``directory``; ``create``: make a new one if there is none."""
        self.directory = Path(directory)
        self.params = params
        database = self.directory / DATABASE_NAME
        if not create and not database.is_file():
            raise LibraryError(f"{self.directory} holds no zssbir library (check --library)")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if not database.exists() and any(self.directory.iterdir()):
                raise LibraryError(
                    f"{self.directory} is not empty and holds no zssbir library; choose an empty or new folder"
                )
        except OSError as error:
            raise LibraryError(f"cannot use {self.directory} as a library: {error.strerror or error}") from None
        if not self.directory.is_dir():
            raise LibraryError(f"{self.directory} is not a folder")
        self.store = LibraryStore(database, create=create)
        self.thumbnails = ThumbnailCache(self.directory / THUMBNAIL_DIR)
        self.index_dir = self.directory / INDEX_DIR
        self.writer_lock = WriterLock(self.directory / LOCK_NAME)
        self._cache = IndexCache(self.store, self.index_dir, self.writer_lock, params)
        self._parts = LibraryParts(self.directory, self.store, self.thumbnails, self._cache, self.writer_lock)

    @classmethod
    def open(cls, directory: str | os.PathLike[str] | None = None, *, create: bool = True) -> PhotoLibrary:
        """Open the library in ``directory`` (default: the user's library); ``create=False``
        refuses a folder that holds no library instead of making one (for read-only commands)."""
        return cls(Path(directory) if directory is not None else paths.default_library_dir(), create=create)

    def close(self) -> None:
        """Release the database; the library object cannot be used afterwards."""
        self._cache.closed = True
        self.writer_lock.release()
        self.store.close()

    def __enter__(self) -> PhotoLibrary:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- facts -------------------------------------------------------------------------------

    @property
    def model_id(self) -> str | None:
        """The model whose vectors the index holds (None before the first indexing run)."""
        return self.store.meta("model_id")

    @property
    def is_indexing(self) -> bool:
        """Whether an indexing run of this object is in progress."""
        return self._cache.run_active.is_set()

    @property
    def indexing_unfinished(self) -> bool:
        """Whether the last indexing run (of any process) did not finish: run one to complete it."""
        return self.store.meta(UNFINISHED_KEY) is not None

    def folders(self) -> list[FolderInfo]:
        """Watched folders with their indexed photo counts."""
        return [FolderInfo(Path(p), self.store.photo_count_in(p)) for p in self.store.folder_paths()]

    def photo_count(self) -> int:
        return self.store.photo_count()

    def photo(self, photo_id: int) -> PhotoRecord:
        """The record of one photo; LibraryError if the id is unknown."""
        row = self.store.photo_row(photo_id)
        if row is None:
            raise LibraryError(f"no photo with id {photo_id} in this library")
        photo_id, path, size, mtime_ns, width, height, thumb_key, indexed_at = row
        return PhotoRecord(photo_id, Path(path), size, mtime_ns / 1e9, width, height, thumb_key, indexed_at)

    def photo_id_of(self, path: str | os.PathLike[str]) -> int | None:
        """The id of the photo at ``path`` (as given or through symbolic links), None if it is not in the library."""
        found = self.store.id_of(folder_key(path))
        return found if found is not None else self.store.id_of(folder_key(os.path.realpath(path)))

    def skipped(self) -> list[SkippedFile]:
        """Files the last runs could not index, with the reason."""
        return self.store.skipped()

    def exclude_patterns(self) -> list[str]:
        """The library's exclude patterns (see ``zssbir_core.library.excludes`` for how they match)."""
        return excludes.parse(self.store.meta(excludes.META_KEY))

    def set_exclude_patterns(self, patterns: Sequence[str]) -> None:
        """Replace the exclude patterns (the next indexing run drops photos they now leave out)."""
        self.store.set_meta(excludes.META_KEY, excludes.dump(patterns))

    def add_exclude_patterns(self, patterns: Sequence[str]) -> list[str]:
        """Add patterns to the list; returns the new list."""
        self.set_exclude_patterns([*self.exclude_patterns(), *patterns])
        return self.exclude_patterns()

    def remove_exclude_patterns(self, patterns: Sequence[str]) -> list[str]:
        """Remove patterns (exact text) from the list; LibraryError names any that is not in it."""
        current = self.exclude_patterns()
        unknown = [p for p in excludes.normalise(patterns) if p not in current]
        if unknown:
            raise LibraryError(f"not an exclude pattern of this library: {', '.join(unknown)}")
        gone = set(excludes.normalise(patterns))
        self.set_exclude_patterns([p for p in current if p not in gone])
        return self.exclude_patterns()

    def disk_usage(self) -> dict[str, int]:
        """Bytes on disk of the database, the index and the thumbnails."""
        database = paths.bytes_on_disk(self.directory.glob(DATABASE_NAME + "*"))
        index = paths.bytes_on_disk(self.index_dir.glob("*"))
        return {"database": database, "index": index, "thumbnails": self.thumbnails.disk_bytes()}

    def thumbnail(self, photo_id: int) -> Path:
        """Path of the photo's cached thumbnail (at most THUMBNAIL_SIZE px), made again if missing."""
        record = self.photo(photo_id)
        target = self.thumbnails.path_for(record.thumb_key)
        if not target.exists():
            self.thumbnails.write(record.thumb_key, open_image(record.path, target_size=THUMBNAIL_SIZE))
        return target

    # -- folders -----------------------------------------------------------------------------

    def add_folder(self, path: str | os.PathLike[str]) -> Path:
        """Watch a folder (indexed by the next ``index`` run); returns it as stored.

        A folder inside a watched one is refused; a folder that contains watched ones replaces them.
        """
        folder = folder_key(path)
        if not os.path.isdir(folder):
            raise LibraryError(f"{folder} is not a folder")
        library = folder_key(os.path.realpath(self.directory))
        real = folder_key(os.path.realpath(folder))
        if real == library or real.startswith(library + "/"):
            raise LibraryError(f"{folder} is the library's own folder")
        contained = []
        for watched in self.store.folder_paths():
            if watched == folder:
                return Path(folder)
            if folder.startswith(watched.rstrip("/") + "/"):
                raise LibraryError(f"{folder} is already watched as part of {watched}")
            if watched.startswith(folder.rstrip("/") + "/"):
                contained.append(watched)
        self.store.replace_folders(folder, contained)
        self.request_indexing()
        return Path(folder)

    def request_indexing(self) -> None:
        """Mark the library as needing an indexing run (``indexing_unfinished`` until one finishes)."""
        self.store.set_meta(UNFINISHED_KEY, "1")

    def remove_folder(self, path: str | os.PathLike[str]) -> int:
        """Stop watching a folder and drop its photos; returns how many photos were dropped."""
        folder = folder_key(path)
        if folder not in self.store.folder_paths():
            raise LibraryError(f"{folder} is not a watched folder")
        if self.is_indexing:
            raise LibraryError("indexing is running; cancel it before removing a folder")
        self.writer_lock.acquire()
        try:
            ids, thumbs = self.store.remove_folder(folder)
            with self._cache.guard:
                index = self._cache.loaded
                if index is not None and ids:
                    index.remove(ids)
                    index.generation = self.store.generation()
                    if index.needs_compaction():
                        self._cache.rebuild()
                    else:
                        self._cache.save()
        finally:
            self.writer_lock.release()
        self.thumbnails.remove(thumbs)
        return len(ids)

    # -- indexing ----------------------------------------------------------------------------

    def index(
        self,
        embedder: Embedder,
        *,
        cancel: threading.Event | None = None,
        exclude: Sequence[str] = (),
        batch_size: int = 32,
        workers: int | None = None,
    ) -> Iterator[IndexProgress]:
        """Bring the library up to date with its folders, yielding progress; see ``indexer``.

        New and changed files are embedded with ``embedder``, unchanged ones skipped, vanished
        ones removed. A different model than the library's re-embeds everything, and the index
        switches to it only when all photos have their new vectors.
        """
        return run_indexing(
            self._parts, embedder, cancel=cancel, exclude=exclude, batch_size=batch_size, workers=workers
        )

    # -- index -------------------------------------------------------------------------------

    def vector_index(self) -> PhotoIndex | None:
        """The search index of the library's model, loaded or rebuilt from the database as needed.

        None before anything was indexed. Reloaded when another process changed the library.
        """
        return self._cache.current()

    def rebuild_index(self) -> PhotoIndex:
        """Build the index afresh from the vectors in the database (saved if this process may write)."""
        return self._cache.rebuild()

    # -- search ------------------------------------------------------------------------------

    def vector(self, photo_id: int) -> np.ndarray | None:
        """The stored vector of a photo for the library's model (None if it has none)."""
        model_id = self.model_id
        return None if model_id is None else self.store.vector_of(photo_id, model_id)

    def search_vectors(
        self, vector: np.ndarray, k: int = 20, folders: Sequence[str | os.PathLike[str]] | None = None
    ) -> list[SearchResult]:
        """The ``k`` photos nearest to ``vector`` (cosine), optionally only inside ``folders``."""
        index = self.vector_index()
        if index is None or k <= 0:
            return []
        allowed = None
        if folders is not None:
            allowed = self.store.ids_in_folders([folder_key(f) for f in folders])
        hits = index.search(vector, k, allowed=allowed)
        found = self.store.paths_of([photo_id for photo_id, _ in hits])
        return [SearchResult(i, Path(found[i]), score) for i, score in hits if i in found]

