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
"""

from __future__ import annotations

import numpy as np
import torch

TOP_K_PRECISION = (10, 100, 200)
MAP_TOP_K = 200


def retrieval_metrics(
    query_embeddings: np.ndarray | torch.Tensor,
    query_labels: np.ndarray | torch.Tensor,
    gallery_embeddings: np.ndarray | torch.Tensor,
    gallery_labels: np.ndarray | torch.Tensor,
    *,
    chunk_size: int = 1024,
    device: torch.device | str = "cpu",
) -> dict[str, float]:
    """``{"map_all", "map_200", "p_100", "p_200", "p_10"}``; see the module docstring.

    ``device`` is where the similarities are ranked (a GPU sorts a QuickDraw-sized evaluation in
    seconds); the result does not depend on it beyond float rounding.
    """
    device = torch.device(device)
    queries = _as_float_tensor(query_embeddings, device)
    gallery = _as_float_tensor(gallery_embeddings, device)
    q_labels = torch.as_tensor(np.asarray(query_labels), dtype=torch.int64).to(device)
    g_labels = torch.as_tensor(np.asarray(gallery_labels), dtype=torch.int64).to(device)
    if queries.ndim != 2 or gallery.ndim != 2 or queries.shape[1] != gallery.shape[1]:
        raise ValueError(
            f"embeddings must be (N, D) with the same D; got {tuple(queries.shape)} and "
            f"{tuple(gallery.shape)}"
        )
    if len(q_labels) != len(queries) or len(g_labels) != len(gallery):
        raise ValueError("one label per embedding is needed")
    if len(gallery) == 0:
        raise ValueError("the gallery is empty")
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")

    relevant_counts = torch.bincount(g_labels - g_labels.min(), minlength=1)
    totals = {"map_all": 0.0, "map_200": 0.0, **{f"p_{k}": 0.0 for k in TOP_K_PRECISION}}
    evaluated = 0
    for start in range(0, len(queries), chunk_size):
        labels = q_labels[start : start + chunk_size]
        shifted = labels - g_labels.min()
        in_range = (shifted >= 0) & (shifted < len(relevant_counts))
        n_relevant = torch.zeros_like(labels)
        n_relevant[in_range] = relevant_counts[shifted[in_range]]
        keep = n_relevant > 0
        if not bool(keep.any()):
            continue
        similarity = queries[start : start + chunk_size][keep] @ gallery.T
        order = torch.sort(similarity, dim=1, descending=True, stable=True).indices
        del similarity
        hits = g_labels[order] == labels[keep][:, None]
        del order
        for name, value in _chunk_metrics(hits, n_relevant[keep]).items():
            totals[name] += value
        evaluated += int(keep.sum())
    if evaluated == 0:
        raise ValueError("no query has a relevant item (same class) in the gallery")
    return {name: total / evaluated for name, total in totals.items()}


def _chunk_metrics(hits: torch.Tensor, n_relevant: torch.Tensor) -> dict[str, float]:
    """Sums over the chunk's queries of each metric; ``hits`` is (queries, gallery) in rank order."""
    gallery_size = hits.shape[1]
    cumulative = torch.cumsum(hits, dim=1, dtype=torch.int32)
    ranks = torch.arange(1, gallery_size + 1, dtype=torch.float64, device=hits.device)
    zero = torch.zeros((), dtype=torch.float64, device=hits.device)
    precision_at_hits = torch.where(hits, cumulative / ranks, zero)
    ap_all = precision_at_hits.sum(dim=1) / n_relevant
    top = min(MAP_TOP_K, gallery_size)
    hits_top = cumulative[:, top - 1].to(torch.float64)
    ap_top = precision_at_hits[:, :top].sum(dim=1) / hits_top.clamp_min(1.0)
    sums = {"map_all": float(ap_all.sum()), "map_200": float(ap_top.sum())}
    for k in TOP_K_PRECISION:
        k_eff = min(k, gallery_size)
        sums[f"p_{k}"] = float((cumulative[:, k_eff - 1].to(torch.float64) / k_eff).sum())
    return sums


def _as_float_tensor(values: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    tensor = values if isinstance(values, torch.Tensor) else torch.from_numpy(np.asarray(values))
    return tensor.detach().to(device, torch.float32)
