"""``metrics.retrieval_metrics`` on a torch device (a GPU): the same arithmetic as the numpy path."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from zssbir_core.evaluation.metric_inputs import MAP_TOP_K, TOP_K_PRECISION, check_inputs


def retrieval_metrics_torch(
    query_embeddings: Any,
    query_labels: Any,
    gallery_embeddings: Any,
    gallery_labels: Any,
    *,
    chunk_size: int = 1024,
    device: torch.device | str = "cpu",
) -> dict[str, float]:
    """``metrics.retrieval_metrics`` ranked on ``device``."""
    device = torch.device(device)
    queries = _as_float_tensor(query_embeddings, device)
    gallery = _as_float_tensor(gallery_embeddings, device)
    q_labels = torch.as_tensor(np.asarray(query_labels), dtype=torch.int64).to(device)
    g_labels = torch.as_tensor(np.asarray(gallery_labels), dtype=torch.int64).to(device)
    check_inputs(tuple(queries.shape), tuple(gallery.shape), len(q_labels), len(g_labels), chunk_size)
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


def _as_float_tensor(values: Any, device: torch.device) -> torch.Tensor:
    tensor = values if isinstance(values, torch.Tensor) else torch.from_numpy(np.asarray(values))
    return tensor.detach().to(device, torch.float32)
