"""Embed a dataset with a model and score sketch-to-photo retrieval.

``embed_and_score`` is the one routine that does it: evaluation (``evaluate_retrieval``, ``zssbir-cli
eval``), the trainer's validation and the fine-tuning figures all call it. An ``Embedder`` is fed
by threads (``data.sample_batches``) and needs no torch; a bare network being trained goes through
``embed_network`` (torch).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from zssbir_core.data.domains import PHOTO, SKETCH
from zssbir_core.data.folder import FolderDataset, Sample
from zssbir_core.data.sample_batches import sample_batches
from zssbir_core.errors import DatasetError
from zssbir_core.evaluation.metrics import retrieval_metrics
from zssbir_core.imageio import open_image
from zssbir_core.models.embedder import Embedder
from zssbir_core.models.preprocessing import Preprocessing
from zssbir_core.query_expansion import NO_EXPANSION, QueryExpansion, expand_queries
from zssbir_core.query_views import embed_queries

if TYPE_CHECKING:
    from zssbir_core.models.network import ZSSBIRNet


def embed_samples(
    embedder_or_net: Embedder | ZSSBIRNet,
    samples: Sequence[Sample],
    preprocessing: Preprocessing,
    *,
    device: Any,
    batch_size: int = 64,
    num_workers: int = 0,
    progress: Callable[[int], None] | None = None,
    draw_sketches: bool = False,
    precision: Any = "auto",
    channels_last: bool = False,
) -> np.ndarray:
    """(len(samples), D) float32 L2-normalised embeddings, in the order of ``samples``.

    Accepts an ``Embedder`` or a bare ``ZSSBIRNet`` (e.g. the model being trained: it is put in
    eval mode for the pass and its previous mode restored after). ``progress(n)`` is called
    after each batch with the number of images it held. ``draw_sketches``: the SKETCH-domain
    samples are photos, drawn as sketches (the default style of ``photo_to_sketch``) before they
    are embedded. For a bare network, ``precision`` is the autocast dtype (``"auto"``: the
    device's default, None: full precision) and ``channels_last`` the memory format of its input;
    an ``Embedder`` uses its own.
    """
    transform = preprocessing.transform()
    transforms = {PHOTO: transform, SKETCH: transform}
    if draw_sketches:
        from zssbir_core.data.pseudo_sketch import PseudoSketchTransform

        transforms[SKETCH] = PseudoSketchTransform(transform, augment=False)
    if isinstance(embedder_or_net, Embedder):
        batches = sample_batches(samples, transforms, target_size=preprocessing.image_size, batch_size=batch_size,
                                 workers=num_workers)
        return collect(_reported(embedder_or_net.embed_tensors(images), progress) for images in batches)
    from zssbir_core.evaluation.embed_network import embed_network

    return collect(_reported(vectors, progress) for vectors in embed_network(
        embedder_or_net, samples, transforms, preprocessing.image_size, device=device, batch_size=batch_size,
        num_workers=num_workers, precision=precision, channels_last=channels_last))


def embed_query_views(
    embedder: Embedder, samples: Sequence[Sample], *, batch_size: int = 64,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """(len(samples), D) query vectors as the app's search embeds a sketch: the mean of its views
    (``query_views.py``), ``batch_size`` files read at a time."""
    size = embedder.preprocessing.image_size

    def chunk(start: int) -> np.ndarray:
        images = [open_image(sample.path, target_size=size) for sample in samples[start:start + batch_size]]
        return _reported(embed_queries(embedder, images), progress)

    return collect(chunk(start) for start in range(0, len(samples), batch_size))


def embed_and_score(
    embedder_or_net: Embedder | ZSSBIRNet,
    queries: Sequence[Sample],
    gallery: Sequence[Sample],
    preprocessing: Preprocessing,
    *,
    device: Any,
    draw_queries: bool = False,
    batch_size: int = 64,
    num_workers: int = 0,
    progress: Callable[[int], None] | None = None,
    expansion: QueryExpansion = NO_EXPANSION,
    query_views: bool = False,
    precision: Any = "auto",
    channels_last: bool = False,
) -> dict[str, float]:
    """Embed the sketch ``queries`` and the photo ``gallery``, then score sketch-to-photo
    retrieval: the metrics of ``retrieval_metrics`` (``map_all``, ``p_10``, ...).

    ``draw_queries``: the queries are photos, drawn as sketches first (photos-only data).
    ``progress(n)`` counts embedded images (queries, then gallery); ``expansion`` expands each
    query with its nearest photos first, as the app's search does; ``query_views``: each query is
    embedded as the search embeds a sketch (``embed_query_views``; an ``Embedder`` only); the other
    options are those of ``embed_samples``.
    """
    if query_views and (draw_queries or not isinstance(embedder_or_net, Embedder)):
        raise ValueError("query views need an Embedder and sketch queries")
    if draw_queries:
        queries = [dataclasses.replace(sample, domain=SKETCH) for sample in queries]
    options = dict(device=device, batch_size=batch_size, num_workers=num_workers, progress=progress,
                   draw_sketches=draw_queries, precision=precision, channels_last=channels_last)
    if query_views:
        query_vectors = embed_query_views(embedder_or_net, queries, batch_size=batch_size, progress=progress)
    else:
        query_vectors = embed_samples(embedder_or_net, queries, preprocessing, **options)
    gallery_vectors = embed_samples(embedder_or_net, gallery, preprocessing, **options)
    query_vectors = expand_queries(query_vectors, gallery_vectors, expansion)
    return retrieval_metrics(
        query_vectors,
        np.array([s.label for s in queries]),
        gallery_vectors,
        np.array([s.label for s in gallery]),
        device=device,
    )


def evaluate_retrieval(
    embedder_or_net: Embedder | ZSSBIRNet,
    dataset: FolderDataset,
    *,
    preprocessing: Preprocessing,
    device: Any,
    batch_size: int = 64,
    num_workers: int = 0,
    progress: Callable[[int], None] | None = None,
    expansion: QueryExpansion = NO_EXPANSION,
    query_views: bool = False,
) -> dict[str, float]:
    """Sketches of ``dataset`` query its photos; the metrics of ``retrieval_metrics``.
    ``progress(n)`` counts embedded images (sketches, then photos); ``expansion`` and
    ``query_views`` search as the app does (``embed_and_score``)."""
    sketches, photos = dataset.sketches(), dataset.photos()
    if not sketches:
        raise DatasetError(f"{dataset.root}: no sketches to evaluate with (queries are sketches)")
    if not photos:
        raise DatasetError(f"{dataset.root}: no photos to retrieve (the gallery is empty)")
    return embed_and_score(
        embedder_or_net, sketches, photos, preprocessing, device=device, batch_size=batch_size,
        num_workers=num_workers, progress=progress, expansion=expansion, query_views=query_views,
    )


def _reported(vectors: np.ndarray, progress: Callable[[int], None] | None) -> np.ndarray:
    if progress is not None:
        progress(len(vectors))
    return vectors


def collect(batches: Any) -> np.ndarray:
    """The batches' vectors as one (N, D) float32 array ((0, 0) for none)."""
    arrays = list(batches)
    if not arrays:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(arrays).astype(np.float32, copy=False)
