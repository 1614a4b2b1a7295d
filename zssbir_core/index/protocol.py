"""What a library needs of its vector index, written once: the hnswlib graph (``VectorIndex``) and
exact numpy search (``ExactIndex``) both are a ``PhotoIndex`` (mypy checks it, ``[tool.mypy]``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from zssbir_core.index.hnsw import HnswParams


class PhotoIndex(Protocol):
    """Vectors of one model under photo ids, searched by cosine similarity; thread-safe."""

    dim: int
    model_id: str
    params: HnswParams
    generation: int

    def __init__(self, dim: int, *, model_id: str, params: HnswParams = ..., capacity: int = ...) -> None: ...

    @classmethod
    def load(
        cls, directory: Path, *, model_id: str, generation: int, count: int, params: HnswParams = ...,
        dim: int | None = None,
    ) -> PhotoIndex:
        """The saved index, checked against its manifest; ``IndexMismatchError`` says what is wrong."""
        ...

    @property
    def count(self) -> int:
        """Live (searchable) vectors."""
        ...

    @property
    def deleted_count(self) -> int: ...

    @property
    def capacity(self) -> int: ...

    def set_ef_search(self, ef: int) -> None: ...

    def needs_compaction(self, ratio: float = 0.25) -> bool: ...

    def __contains__(self, photo_id: int) -> bool: ...

    def ids(self) -> set[int]: ...

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None: ...

    def remove(self, ids: Iterable[int]) -> None: ...

    def search(self, vector: np.ndarray, k: int, *, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """The ``k`` nearest live ids to ``vector`` as (id, cosine similarity), best first."""
        ...

    def save(self, directory: Path, generation: int) -> object:
        """Write the index and its manifest atomically; returns the manifest."""
        ...

    def disk_bytes(self, directory: Path) -> int: ...
