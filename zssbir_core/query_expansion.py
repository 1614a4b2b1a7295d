"""Query expansion with the photos a sketch finds first (alpha-weighted query expansion).

A sketch and a photo of the same thing are far apart in any embedding (the domain gap); photos
of the same thing are close to each other. So the sketch's first few photos, even when some are
wrong, describe what it shows better than the sketch alone: the query becomes
``normalize(q + sum_i max(s_i, 0)**alpha * p_i)`` over its ``k`` nearest photos ``p_i`` with
similarities ``s_i``, and the gallery is searched again with it (Radenovic et al., "Fine-tuning
CNN image retrieval with no human annotation", TPAMI 2018; gallery-side re-ranking for
zero-shot cross-domain retrieval: Hudson and Smith, arXiv 2303.17703). Measured on the 20
held-out Sketchy classes: ``docs/benchmarks/model_sweep.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class QueryExpansion:
    """``k`` photos expand a query (0: off), weighted by their similarity to the power ``alpha``."""

    k: int = 5
    alpha: float = 1.0

    def __post_init__(self) -> None:
        if self.k < 0:
            raise ValueError("query expansion k must not be negative")
        if self.alpha < 0:
            raise ValueError("query expansion alpha must not be negative")


NO_EXPANSION = QueryExpansion(k=0)
DEFAULT_EXPANSION = QueryExpansion(k=5, alpha=1.0)
"""What searches in the app and ``zssbir-cli search`` use."""


def expand_query(query: np.ndarray, neighbours: np.ndarray, similarities: np.ndarray, alpha: float) -> np.ndarray:
    """The expanded, L2-normalised query from (D,) ``query``, its (k, D) nearest photos and their
    (k,) similarities."""
    return _expanded(np.asarray(query, dtype=np.float32)[None], np.asarray(neighbours, dtype=np.float32)[None],
                     np.asarray(similarities, dtype=np.float32)[None], alpha)[0]


def expand_queries(
    queries: np.ndarray, gallery: np.ndarray, expansion: QueryExpansion, *, chunk: int = 1024
) -> np.ndarray:
    """Every row of (Q, D) ``queries`` expanded with its ``expansion.k`` nearest rows of (G, D)
    ``gallery`` (exact search, ``chunk`` queries at a time); unchanged when ``k`` is 0."""
    if expansion.k == 0 or len(gallery) == 0:
        return queries
    k = min(expansion.k, len(gallery))
    out = np.empty_like(queries, dtype=np.float32)
    for start in range(0, len(queries), chunk):
        block = queries[start:start + chunk].astype(np.float32)
        sims = block @ gallery.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        out[start:start + chunk] = _expanded(block, gallery[top], np.take_along_axis(sims, top, axis=1),
                                             expansion.alpha)
    return out


def _expanded(queries: np.ndarray, neighbours: np.ndarray, similarities: np.ndarray, alpha: float) -> np.ndarray:
    """(Q, D) queries plus their (Q, k, D) neighbours weighted by max(similarity, 0) ** alpha, each
    row L2-normalised (a row that sums to zero stays the query)."""
    weights = np.clip(similarities, 0.0, None) ** alpha
    expanded = queries + np.einsum("qk,qkd->qd", weights, neighbours)
    norms = np.linalg.norm(expanded, axis=1, keepdims=True)
    return np.where(norms > 0, expanded / np.maximum(norms, 1e-12), queries)
