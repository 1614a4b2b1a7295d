"""Vector index over photo embeddings (hnswlib, or exact numpy search without it), with a manifest
and atomic saves."""

from zssbir_core.index.backend import index_backend, vector_index_class
from zssbir_core.index.exact import ExactIndex
from zssbir_core.index.hnsw import HnswParams, IndexManifest, IndexMismatchError, VectorIndex
from zssbir_core.index.protocol import PhotoIndex

__all__ = [
    "ExactIndex",
    "HnswParams",
    "IndexManifest",
    "IndexMismatchError",
    "PhotoIndex",
    "VectorIndex",
    "index_backend",
    "vector_index_class",
]
