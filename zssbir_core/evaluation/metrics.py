"""Sketch-to-photo retrieval metrics as the zero-shot SBIR literature computes them.

Each query (a sketch) ranks the whole gallery (the photos) by cosine similarity of L2-normalised
embeddings, descending; ties keep gallery order (stable sort). A gallery item is relevant when it
has the query's class label. For each query:

- ``map_all``: standard non-interpolated average precision over the whole gallery, the mean of the
  precision at the rank of each relevant item, ``AP = (1/R) * sum_k P@k * rel_k`` with ``R`` the
  number of relevant items in the gallery (scikit-learn's ``average_precision_score`` on the full
  ranking, as Doodle2Search's test code computes mAP; SAKE's code instead uses the VOC
  interpolated AP, which can only be higher).
- ``map_200``: average precision of the top 200 only, normalised by the number of relevant items
  retrieved in the top 200, and 0 when there are none: ``sum_{k<=200} P@k * rel_k / sum_{k<=200}
  rel_k``. This is ``apsak(sim, str_sim, k=200)`` in SEM-PCYC's ``src/utils.py``
  (``average_precision_score`` on the top-200 list, 0 for queries without a hit there) and the
  ``aps_200`` left commented out in Doodle2Search's ``src/test.py``: the mAP@200 the literature
  reports for Sketchy 104/21 and QuickDraw.
- ``p_100``, ``p_200``, ``p_10``: the fraction of relevant items among the top k (divided by the
  gallery size when it is smaller than k), as in SEM-PCYC's ``prec`` and SAKE's ``eval_precision``.

Metrics are averaged over the queries that have at least one relevant item in the gallery
(queries of a class without photos are ill-posed and left out). Similarities are computed for
``chunk_size`` queries at a time, so memory stays at about ``chunk_size x gallery`` x 17 bytes
(never the full query x gallery matrix).

Everything is numpy (no torch needed: the default install evaluates too) but, on a GPU, the
similarities and their ranking (``metrics_torch``). ``tests/core/evaluation/test_metrics.py`` holds the two equal.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TOP_K_PRECISION = (10, 100, 200)
MAP_TOP_K = 200


def retrieval_metrics(
    query_embeddings: Any,
    query_labels: Any,
    gallery_embeddings: Any,
    gallery_labels: Any,
    *,
    chunk_size: int = 1024,
    device: Any = "cpu",
) -> dict[str, float]:
    """``{"map_all", "map_200", "p_100", "p_200", "p_10"}``; see the module docstring.

    Embeddings and labels are arrays (or torch tensors). ``device`` is where the similarities are
    ranked (a GPU sorts a QuickDraw-sized evaluation in seconds); the result does not depend on it
    beyond float rounding.
    """
    queries, gallery = _as_float_array(query_embeddings), _as_float_array(gallery_embeddings)
    q_labels, g_labels = _as_labels(query_labels), _as_labels(gallery_labels)
    check_inputs(queries.shape, gallery.shape, len(q_labels), len(g_labels), chunk_size)
    if str(device).partition(":")[0] == "cpu":
        def rank(chunk: np.ndarray, labels: np.ndarray) -> np.ndarray:
            return ranked_hits(chunk, labels, gallery, g_labels)
    else:
        from zssbir_core.evaluation.metrics_torch import TorchRanking

        rank = TorchRanking(gallery, g_labels, device)
    relevant_counts = np.bincount(g_labels - g_labels.min(), minlength=1)
    totals = {"map_all": 0.0, "map_200": 0.0, **{f"p_{k}": 0.0 for k in TOP_K_PRECISION}}
    evaluated = 0
    for start in range(0, len(queries), chunk_size):
        labels = q_labels[start : start + chunk_size]
        shifted = labels - g_labels.min()
        in_range = (shifted >= 0) & (shifted < len(relevant_counts))
        n_relevant = np.zeros_like(labels)
        n_relevant[in_range] = relevant_counts[shifted[in_range]]
        keep = n_relevant > 0
        if not keep.any():
            continue
        hits = rank(queries[start : start + chunk_size][keep], labels[keep])
        for name, value in _chunk_metrics(hits, n_relevant[keep]).items():
            totals[name] += value
        evaluated += int(keep.sum())
    if evaluated == 0:
        raise ValueError("no query has a relevant item (same class) in the gallery")
    return {name: total / evaluated for name, total in totals.items()}


def ranked_hits(queries: np.ndarray, labels: np.ndarray, gallery: np.ndarray, gallery_labels: np.ndarray) -> np.ndarray:
    """(queries, gallery) booleans: whether each gallery item, in each query's ranking by cosine
    (descending, ties in gallery order), has the query's label."""
    order = np.argsort(-(queries @ gallery.T), axis=1, kind="stable")
    return gallery_labels[order] == labels[:, None]


def check_inputs(query_shape: tuple[int, ...], gallery_shape: tuple[int, ...], n_query_labels: int,
                 n_gallery_labels: int, chunk_size: int) -> None:
    """``ValueError`` unless the shapes, label counts and chunk size make an evaluation."""
    if len(query_shape) != 2 or len(gallery_shape) != 2 or query_shape[1] != gallery_shape[1]:
        raise ValueError(
            f"embeddings must be (N, D) with the same D; got {tuple(query_shape)} and {tuple(gallery_shape)}"
        )
    if n_query_labels != query_shape[0] or n_gallery_labels != gallery_shape[0]:
        raise ValueError("one label per embedding is needed")
    if gallery_shape[0] == 0:
        raise ValueError("the gallery is empty")
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")


def _chunk_metrics(hits: np.ndarray, n_relevant: np.ndarray) -> dict[str, float]:
    """Sums over the chunk's queries of each metric; ``hits`` is (queries, gallery) in rank order."""
    gallery_size = hits.shape[1]
    cumulative = np.cumsum(hits, axis=1, dtype=np.int32)
    ranks = np.arange(1, gallery_size + 1, dtype=np.float64)
    precision_at_hits = np.where(hits, cumulative / ranks, 0.0)
    ap_all = precision_at_hits.sum(axis=1) / n_relevant
    top = min(MAP_TOP_K, gallery_size)
    hits_top = cumulative[:, top - 1].astype(np.float64)
    ap_top = precision_at_hits[:, :top].sum(axis=1) / np.maximum(hits_top, 1.0)
    sums = {"map_all": float(ap_all.sum()), "map_200": float(ap_top.sum())}
    for k in TOP_K_PRECISION:
        k_eff = min(k, gallery_size)
        sums[f"p_{k}"] = float((cumulative[:, k_eff - 1].astype(np.float64) / k_eff).sum())
    return sums


def _as_float_array(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor
        values = values.detach().cpu().numpy()
    return np.ascontiguousarray(values, dtype=np.float32)


def _as_labels(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.int64)
