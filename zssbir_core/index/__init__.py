"""Vector index over photo embeddings (hnswlib), with a manifest and atomic saves."""

from zssbir_core.index.hnsw import HnswParams, IndexManifest, IndexMismatchError, VectorIndex

__all__ = ["HnswParams", "IndexManifest", "IndexMismatchError", "VectorIndex"]
