"""The plain records the library hands out: folders, photos, skipped files, progress, results."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FolderInfo:
    """A watched folder and how many of its photos are indexed."""

    path: Path
    photo_count: int


@dataclass(frozen=True)
class PhotoRecord:
    """An indexed photo: database id, file facts when it was indexed, original pixel size."""

    id: int
    path: Path
    size: int
    mtime: float
    width: int
    height: int
    thumb_key: str
    indexed_at: float


@dataclass(frozen=True)
class SkippedFile:
    """A file or folder the indexer could not use, and why: the library's one skip record.

    ``path`` is the path as the file system gives it (``zssbir_core.paths.display_path`` prints
    it); ``size`` and ``mtime_ns`` are the file's when it was skipped (None if unknown), so that
    an unchanged file is not tried again.
    """

    path: str
    reason: str
    size: int | None = None
    mtime_ns: int | None = None


@dataclass(frozen=True)
class SearchResult:
    """One ranked answer: photo id, its path and the cosine similarity to the query."""

    id: int
    path: Path
    score: float


@dataclass(frozen=True)
class IndexProgress:
    """One step of an indexing run.

    ``phase`` is ``scan``, ``embed``, ``sweep``, ``save``, then ``done`` or ``cancelled``.
    ``done``/``total`` count files to embed (during ``scan``: files found so far, total 0);
    ``rate`` is files per second in the embed phase and ``eta`` the seconds left (None if unknown);
    ``skipped`` counts files skipped so far in this run; ``current`` is the last file handled.
    """

    phase: str
    done: int
    total: int
    current: str
    rate: float
    eta: float | None
    skipped: int
