"""What an indexing run works on: the library's parts, handed over explicitly (no private access)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zssbir_core.library.index_cache import IndexCache
from zssbir_core.library.lock import WriterLock
from zssbir_core.library.store import LibraryStore
from zssbir_core.library.thumbnails import ThumbnailCache


@dataclass(frozen=True)
class LibraryParts:
    """The folder, database, thumbnail cache, search index and writer lock of one library."""

    directory: Path
    store: LibraryStore
    thumbnails: ThumbnailCache
    index: IndexCache
    writer_lock: WriterLock
