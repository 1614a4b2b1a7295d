"""Issue 21 item 11, the library's side: a model that gives NaN or infinite vectors (a diverged
fine-tuning) must not fill the library with them, and a NaN query must not print ``NaN`` scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from zssbir_core.errors import LibraryError
from zssbir_core.index import ExactIndex
from zssbir_core.library import PhotoLibrary
from zssbir_core.library.store import DATABASE_NAME, LibraryStore, NewEmbedding


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_the_store_refuses_non_finite_vectors_and_keeps_nothing_of_the_batch(tmp_path: Path, bad: float) -> None:
    store = LibraryStore(tmp_path / DATABASE_NAME)
    store.switch_model("m")
    vectors = np.ones((3, 4), np.float32)
    vectors[1, 2] = bad
    with pytest.raises(LibraryError, match="not finite"):
        store.write_embeddings("m", [NewEmbedding(f"/p/{i}.jpg", 1, 1, 1, 1, "k", v) for i, v in enumerate(vectors)])
    assert store.photo_count() == 0 and store.vector_count("m") == 0
    with pytest.raises(ValueError, match="not finite"):
        ExactIndex(4, model_id="m").add([1], vectors[1:2])


def test_a_nan_query_is_refused_not_ranked(tmp_path: Path) -> None:
    from tests.core.library.test_read_only_library import make_library

    make_library(tmp_path / "library")
    with PhotoLibrary.open(tmp_path / "library", create=False) as library:
        with pytest.raises(LibraryError, match="not finite"):
            library.search_vectors(np.full(16, np.nan, np.float32), 5)
        hits = library.search_vectors(np.ones(16, np.float32), 5)
    text = json.dumps([{"score": round(h.score, 6)} for h in hits], allow_nan=False)
    assert "NaN" not in text and len(hits) == 5


def test_nan_vectors_stored_by_an_older_zssbir_are_left_out_of_the_index(tmp_path: Path) -> None:
    """main 051b4d7 stored NaN vectors of a diverged model; such a library must still be searched."""
    from tests.core.library.test_read_only_library import make_library

    folder = tmp_path / "library"
    make_library(folder, save_index=False)
    store = LibraryStore(folder / DATABASE_NAME, create=False)
    with store.transaction() as db:  # what the older version wrote
        db.execute("UPDATE embeddings SET vector = ? WHERE photo_id = 3", (np.full(16, np.nan, np.float32).tobytes(),))
    store.close()
    with PhotoLibrary.open(folder, create=False) as library:
        hits = library.search_vectors(np.ones(16, np.float32), 100)
    assert len(hits) == 39 and 3 not in {h.id for h in hits}
