"""Query expansion: the arithmetic against a by-hand sum, and in a real library search."""

from __future__ import annotations

import numpy as np
import pytest

from tests.core.library_helpers import copy_photos, embedder, first_sketch  # noqa: F401 - fixtures
from zssbir_core.library import PhotoLibrary
from zssbir_core.query_expansion import NO_EXPANSION, QueryExpansion, expand_queries, expand_query
from zssbir_core.search import SketchSearcher


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def test_expand_query_is_the_weighted_sum_normalised() -> None:
    rng = np.random.default_rng(0)
    query, photos = _unit(rng.normal(size=8)), _unit(rng.normal(size=(3, 8)))
    sims = np.array([0.8, 0.5, -0.2])
    by_hand = query + 0.8 ** 2 * photos[0] + 0.5 ** 2 * photos[1]  # negative similarity: weight 0
    np.testing.assert_allclose(expand_query(query, photos, sims, alpha=2.0), by_hand / np.linalg.norm(by_hand),
                               rtol=1e-5)


def test_expand_queries_matches_one_query_at_a_time() -> None:
    rng = np.random.default_rng(1)
    queries, gallery = _unit(rng.normal(size=(7, 16))), _unit(rng.normal(size=(30, 16)))
    expansion = QueryExpansion(k=4, alpha=1.0)
    batch = expand_queries(queries, gallery, expansion, chunk=3)
    for row, query in zip(batch, queries):
        sims = gallery @ query
        top = np.argsort(-sims)[:4]
        np.testing.assert_allclose(row, expand_query(query, gallery[top], sims[top], 1.0), rtol=1e-5, atol=1e-6)
    assert expand_queries(queries, gallery, NO_EXPANSION) is queries
    assert np.allclose(np.linalg.norm(expand_queries(queries, gallery[:2], QueryExpansion(k=9)), axis=1), 1.0)
    with pytest.raises(ValueError):
        QueryExpansion(k=-1)


def test_search_expands_with_the_photos_it_finds_first(tmp_path, sketchy_root, embedder) -> None:
    copy_photos(sketchy_root, tmp_path / "photos", {"apple": 4, "bear": 4, "castle": 4})
    library = PhotoLibrary.open(tmp_path / "library")
    try:
        library.add_folder(tmp_path / "photos")
        list(library.index(embedder, batch_size=8))
        sketch = first_sketch(sketchy_root, "castle")
        plain = SketchSearcher(library, embedder, expansion=NO_EXPANSION)
        expanded = SketchSearcher(library, embedder, expansion=QueryExpansion(k=3))
        query = plain.embed(sketch)
        first = plain.search_vector(query, k=3)
        vectors = np.stack([library.vector(r.id) for r in first])
        wanted = expand_query(query, vectors, np.array([r.score for r in first]), 1.0)
        assert [r.id for r in expanded.search(sketch, k=12)] == [r.id for r in plain.search_vector(wanted, k=12)]
        assert len(expanded.search(sketch, k=12, folders=[tmp_path / "photos" / "bear"])) == 4
    finally:
        library.close()
