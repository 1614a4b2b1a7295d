"""Retrieval metrics: hand-computed cases, a plain reference implementation, chunking."""

from __future__ import annotations

import numpy as np
import pytest

from zssbir_core.evaluation.metrics import retrieval_metrics


def ranked_case(relevance: list[int]):
    """One query whose gallery ranks exactly in the given relevance order (1 = same class)."""
    n = len(relevance)
    angles = np.linspace(0.0, 1.5, n)  # decreasing cosine similarity with the query [1, 0]
    gallery = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    labels = np.array([0 if r else 1 for r in relevance])
    return np.array([[1.0, 0.0]], dtype=np.float32), np.array([0]), gallery, labels


def test_hand_computed_single_query():
    # Relevant at ranks 1, 3, 6 of 6 items: AP = (1/1 + 2/3 + 3/6) / 3
    metrics = retrieval_metrics(*ranked_case([1, 0, 1, 0, 0, 1]))
    assert metrics["map_all"] == pytest.approx((1 + 2 / 3 + 3 / 6) / 3)
    assert metrics["map_200"] == pytest.approx((1 + 2 / 3 + 3 / 6) / 3)  # all 6 are in the top 200
    assert metrics["p_10"] == pytest.approx(3 / 6)  # gallery smaller than k: divide by its size


def test_map_200_normalises_by_relevant_retrieved_in_top_200():
    # 300 items: relevant at ranks 2 and 250. Within the top 200 only rank 2 counts.
    relevance = [0] * 300
    relevance[1] = relevance[249] = 1
    metrics = retrieval_metrics(*ranked_case(relevance))
    assert metrics["map_all"] == pytest.approx((1 / 2 + 2 / 250) / 2)
    assert metrics["map_200"] == pytest.approx(1 / 2)  # (1/2) / 1 relevant retrieved
    assert metrics["p_10"] == pytest.approx(1 / 10)
    assert metrics["p_100"] == pytest.approx(1 / 100)
    assert metrics["p_200"] == pytest.approx(1 / 200)


def test_map_200_is_zero_without_relevant_in_top_200():
    relevance = [0] * 250 + [1]
    metrics = retrieval_metrics(*ranked_case(relevance))
    assert metrics["map_200"] == 0.0
    assert metrics["map_all"] == pytest.approx(1 / 251)


def test_perfect_and_worst_rankings():
    assert retrieval_metrics(*ranked_case([1, 1, 0, 0]))["map_all"] == pytest.approx(1.0)
    assert retrieval_metrics(*ranked_case([0, 0, 1, 1]))["map_all"] == pytest.approx((1 / 3 + 2 / 4) / 2)


def reference_metrics(q, ql, g, gl):
    """Straightforward per-query loops over the full similarity matrix."""
    sims = q @ g.T
    results = {"map_all": [], "map_200": [], "p_10": [], "p_100": [], "p_200": []}
    for i in range(len(q)):
        order = sorted(range(len(g)), key=lambda j: (-sims[i, j], j))
        rel = [int(gl[j] == ql[i]) for j in order]
        if sum(rel) == 0:
            continue
        found, precisions = 0, []
        for rank, r in enumerate(rel, start=1):
            if r:
                found += 1
                precisions.append(found / rank)
        results["map_all"].append(sum(precisions) / sum(rel))
        top = rel[:200]
        found, top_precisions = 0, []
        for rank, r in enumerate(top, start=1):
            if r:
                found += 1
                top_precisions.append(found / rank)
        results["map_200"].append(sum(top_precisions) / found if found else 0.0)
        for k in (10, 100, 200):
            results[f"p_{k}"].append(sum(rel[:k]) / min(k, len(rel)))
    return {name: float(np.mean(values)) for name, values in results.items()}


@pytest.fixture(scope="module")
def random_case():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(7, 16))
    ql = rng.integers(0, 7, size=45)
    gl = rng.integers(0, 6, size=260)  # class 6 has no photos: those queries are left out
    q = centres[ql] + rng.normal(scale=1.5, size=(45, 16))
    g = centres[gl] + rng.normal(scale=1.5, size=(260, 16))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    return q.astype(np.float32), ql, g.astype(np.float32), gl


def test_matches_reference_implementation(random_case):
    q, ql, g, gl = random_case
    assert 6 in ql  # a query class without gallery items is present and ignored
    expected = reference_metrics(q.astype(np.float64), ql, g.astype(np.float64), gl)
    assert retrieval_metrics(q, ql, g, gl) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("chunk_size", [1, 7, 16, 1000])
def test_chunked_equals_unchunked(random_case, chunk_size):
    whole = retrieval_metrics(*random_case, chunk_size=10_000)
    assert retrieval_metrics(*random_case, chunk_size=chunk_size) == pytest.approx(whole, abs=1e-12)


def test_bad_inputs_are_clear():
    q = np.ones((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="same D"):
        retrieval_metrics(q, [0, 1], np.ones((2, 4)), [0, 1])
    with pytest.raises(ValueError, match="one label per embedding"):
        retrieval_metrics(q, [0], q, [0, 1])
    with pytest.raises(ValueError, match="no query has a relevant item"):
        retrieval_metrics(q, [5, 6], q, [0, 1])
    with pytest.raises(ValueError, match="gallery is empty"):
        retrieval_metrics(q, [0, 1], np.zeros((0, 3)), [])


def test_numpy_and_torch_rankings_give_the_same_figures(random_case, monkeypatch):
    import torch

    from zssbir_core.evaluation import metrics
    from zssbir_core.evaluation.metrics_torch import TorchRanking

    q, ql, g, gl = random_case
    ties = np.repeat(g[:20], 3, axis=0), np.repeat(gl[:20], 3)  # equal scores: ranked in gallery order by both
    for gallery, labels in ((g, gl), ties):
        ranking = TorchRanking(gallery, labels.astype(np.int64), "cpu")
        assert np.array_equal(ranking(q, ql), metrics.ranked_hits(q, ql, gallery, labels))
        for chunk_size in (1, 1024):
            ours = retrieval_metrics(q, ql, gallery, labels, chunk_size=chunk_size)
            # the torch path on the CPU (a GPU is taken the same way)
            monkeypatch.setattr(metrics, "ranked_hits", lambda queries, query_labels, *_: ranking(queries, query_labels))
            theirs = retrieval_metrics(torch.from_numpy(q), torch.from_numpy(ql), gallery, labels, chunk_size=chunk_size)
            monkeypatch.undo()
            assert ours == pytest.approx(theirs, abs=1e-12)
