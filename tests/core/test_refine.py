"""Relevance feedback (``zssbir_core.refine``): Rocchio on the vectors, rounds on the sketch, undo,
and a real search moved towards the liked photos."""

from __future__ import annotations

import numpy as np
import pytest

from tests.core.library_helpers import copy_photos, embedder, first_sketch  # noqa: F401 - fixture
from zssbir_core.library import PhotoLibrary
from zssbir_core.refine import Feedback, Rocchio
from zssbir_core.search import SketchSearcher


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_rocchio_moves_towards_liked_and_away_from_disliked() -> None:
    q, good, bad = unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)
    moved = Rocchio(1.0, 1.0, 0.5).apply(q, np.stack([good]), np.stack([bad]))
    assert moved == pytest.approx(unit(1, 1, -0.5))
    assert Rocchio().apply(q, np.empty((0, 3)), np.empty((0, 3))) == pytest.approx(q)
    assert Rocchio(1.0, 0.0, 1.0).apply(q, np.empty((0, 3)), np.stack([q])) == pytest.approx(q)  # zero sum: q kept
    with pytest.raises(ValueError):
        Rocchio(1.0, -1.0, 0.0)


def test_rounds_gather_on_the_sketch_the_latest_mark_wins_and_undo_takes_one_back() -> None:
    vectors = {1: unit(0, 1, 0), 2: unit(0, 0, 1), 3: unit(1, 1, 1)}
    q, weights = unit(1, 0, 0), Rocchio(1.0, 1.0, 1.0)
    feedback = Feedback()
    assert not feedback and feedback.refine(q, vectors.get, weights) == pytest.approx(q)
    feedback.add_round(liked=[1])
    feedback.add_round(liked=[2], disliked=[1, 99])  # 99 has no vector: left out
    assert feedback.marks() == {1: False, 2: True, 99: False}
    assert feedback.refine(q, vectors.get, weights) == pytest.approx(unit(1, -1, 1))
    feedback.add_round()  # nothing marked: no round
    assert len(feedback.rounds) == 2
    assert feedback.undo() and feedback.refine(q, vectors.get, weights) == pytest.approx(unit(1, 1, 0))
    assert feedback.undo() and not feedback.undo()


def test_liked_photos_of_another_class_move_the_search_towards_it(tmp_path, sketchy_root, embedder) -> None:
    copy_photos(sketchy_root, tmp_path / "photos", {"apple": 4, "bear": 4, "castle": 4})
    with PhotoLibrary.open(tmp_path / "library") as library:
        library.add_folder(tmp_path / "photos")
        for _ in library.index(embedder):
            pass
        searcher = SketchSearcher(library, embedder)
        sketch = first_sketch(sketchy_root, "apple")
        before = [r.path.parent.name for r in searcher.search(sketch, k=4)]
        bears = [library.photo_id_of(p) for p in sorted((tmp_path / "photos" / "bear").glob("*.jpg"))[:2]]
        feedback = Feedback()
        feedback.add_round(liked=bears)
        after = [r.path.parent.name for r in searcher.search(sketch, k=4, feedback=feedback)]
        assert after.count("bear") > before.count("bear"), (before, after)
        assert searcher.search(sketch, k=4, feedback=Feedback()) == searcher.search(sketch, k=4)
