"""The photo library: watched folders, incremental indexing, thumbnails and vector search."""

from zssbir_core.library.library import PhotoLibrary
from zssbir_core.library.records import FolderInfo, IndexProgress, PhotoRecord, SearchResult, SkippedFile
from zssbir_core.library.thumbnails import THUMBNAIL_SIZE

__all__ = [
    "THUMBNAIL_SIZE",
    "FolderInfo",
    "IndexProgress",
    "PhotoLibrary",
    "PhotoRecord",
    "SearchResult",
    "SkippedFile",
]
