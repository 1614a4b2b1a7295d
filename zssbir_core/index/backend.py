"""Which vector index this installation uses: hnswlib's graph when it imports, else exact numpy
search (``ZSSBIR_INDEX=exact`` chooses exact search on purpose)."""

from __future__ import annotations

import os

from zssbir_core.index import hnsw
from zssbir_core.index.exact import ExactIndex
from zssbir_core.index.protocol import PhotoIndex

BACKEND_VARIABLE = "ZSSBIR_INDEX"
HNSWLIB_HELP = (
    "hnswlib is not installed: search is exact (numpy), fine up to about 100k photos. For the graph "
    "index install a C++ compiler (Debian/Ubuntu: sudo apt install build-essential python3-dev; "
    "macOS: xcode-select --install; Windows: Visual Studio Build Tools) and run pip install hnswlib"
)


def index_backend() -> str:
    """``"hnswlib"`` or ``"exact"``: the index ``vector_index_class`` gives."""
    if os.environ.get(BACKEND_VARIABLE) == "exact" or not hnsw.HNSWLIB_AVAILABLE:
        return "exact"
    return "hnswlib"


def vector_index_class() -> type[PhotoIndex]:
    """The index class to build and load libraries with (both are a ``PhotoIndex``)."""
    return ExactIndex if index_backend() == "exact" else hnsw.VectorIndex
