"""``SketchSearcher``: a sketch (file, PIL image or array) in, the user's photos ranked out.

The query goes through the model's own preprocessing (shorter side to S, centre crop,
normalise: the evaluation transform of training) and is embedded by the same network as the photos,
a sketch on white also framed to its strokes and the two vectors averaged (``query_views.py``); it
is looked up in the library's index; then, with query expansion (on by default), it is looked
up again together with the first photos it found (``query_expansion.py``). Safe to call from any
thread, also while another thread indexes the library.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np
from PIL import Image

from zssbir_core.errors import ImageReadError, LibraryError
from zssbir_core.imageio import check_proportions, open_image, to_rgb
from zssbir_core.library import PhotoLibrary, SearchResult
from zssbir_core.query_expansion import DEFAULT_EXPANSION, QueryExpansion, expand_query
from zssbir_core.query_views import embed_queries
from zssbir_core.refine import DEFAULT_ROCCHIO, Feedback, Rocchio

if TYPE_CHECKING:
    from zssbir_core.models.registry import Embedder

QueryImage = Union[str, os.PathLike, Image.Image, np.ndarray]
"""A sketch as a file path, a PIL image or an (H, W), (H, W, 3) or (H, W, 4) array."""


def query_to_image(query: QueryImage, *, target_size: int | None = None) -> Image.Image:
    """Any accepted query form as an 8-bit RGB PIL image (transparency becomes white)."""
    if isinstance(query, Image.Image):
        check_proportions("<image>", *query.size)
        return to_rgb(query)
    if isinstance(query, np.ndarray):
        array = query
        if array.dtype != np.uint8:
            scale = 255.0 if array.size and float(np.nanmax(array)) <= 1.0 else 1.0
            array = np.clip(np.nan_to_num(array.astype(np.float32) * scale), 0, 255).astype(np.uint8)
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or 0 in array.shape:
            raise ImageReadError("<array>", f"expected an (H, W), (H, W, 3) or (H, W, 4) array, got {query.shape}")
        check_proportions("<array>", array.shape[1], array.shape[0])
        return to_rgb(Image.fromarray(np.ascontiguousarray(array)))
    return open_image(Path(query), target_size=target_size)


class SketchSearcher:
    """Searches ``library`` with ``embedder``, which must be the model the library was indexed with."""

    def __init__(
        self, library: PhotoLibrary, embedder: Embedder, *, expansion: QueryExpansion = DEFAULT_EXPANSION
    ) -> None:
        self.library = library
        self.embedder = embedder
        self.expansion = expansion
        self._embed_lock = threading.Lock()

    def embed(self, query: QueryImage) -> np.ndarray:
        """The query's L2-normalised embedding, shape (D,): for a sketch, the mean of its views."""
        image = query_to_image(query, target_size=self.embedder.preprocessing.image_size)
        with self._embed_lock:
            return embed_queries(self.embedder, [image])[0]

    def _check_model(self) -> None:
        model_id = self.library.model_id
        if model_id is not None and model_id != self.embedder.model_id:
            raise LibraryError(
                f"the library is indexed with model {model_id!r}, the search uses {self.embedder.model_id!r}: "
                "index the library with this model first"
            )

    def search(
        self, image: QueryImage, k: int = 20, folders: Sequence[str | os.PathLike[str]] | None = None,
        *, feedback: Feedback | None = None, weights: Rocchio = DEFAULT_ROCCHIO,
    ) -> list[SearchResult]:
        """The ``k`` photos closest to the sketch, best first, optionally only inside ``folders``.

        ``feedback``: rounds of "more like this" / "not this" that move the query (``refine.py``).
        A query file that is itself a photo of the library is left out of its own results.
        """
        self._check_model()
        vector = self.embed(image)
        if feedback:
            vector = feedback.refine(vector, self.library.vector, weights)
        itself = self.library.photo_id_of(image) if isinstance(image, (str, os.PathLike)) else None
        if itself is None:
            return self.search_vector(vector, k, folders)
        return [r for r in self.search_vector(vector, k + 1, folders) if r.id != itself][:k]

    def search_vector(
        self, query: np.ndarray, k: int = 20, folders: Sequence[str | os.PathLike[str]] | None = None
    ) -> list[SearchResult]:
        """The ``k`` photos closest to an embedded query, with query expansion when it is on."""
        if self.expansion.k > 0 and k > 0:
            first = self.library.search_vectors(query, self.expansion.k, folders)
            found = [(self.library.vector(r.id), r.score) for r in first]
            found = [(vector, score) for vector, score in found if vector is not None]
            if found:
                query = expand_query(query, np.stack([v for v, _ in found]), np.array([s for _, s in found]),
                                     self.expansion.alpha)
        return self.library.search_vectors(query, k, folders)

    def search_file(
        self, path: str | os.PathLike[str], k: int = 20, folders: Sequence[str | os.PathLike[str]] | None = None
    ) -> list[SearchResult]:
        """Search with an image file (a sketch or any photo) as the query."""
        return self.search(Path(path), k, folders)

    def similar(
        self, photo_id: int, k: int = 20, folders: Sequence[str | os.PathLike[str]] | None = None
    ) -> list[SearchResult]:
        """Photos like one already in the library (the photo itself is left out)."""
        self._check_model()
        vector = self.library.vector(photo_id)
        if vector is None:
            raise LibraryError(f"photo {photo_id} has no vector in this library")
        results = self.library.search_vectors(vector, k + 1, folders)
        return [r for r in results if r.id != photo_id][:k]
