"""Embed a dataset with a model and score sketch-to-photo retrieval.

``embed_and_score`` is the one routine that does it: evaluation (``evaluate_retrieval``, ``zssbir-cli
eval``), the trainer's validation and the fine-tuning figures all call it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

import numpy as np
import torch
from torch.utils.data import DataLoader

from zssbir_core.data.domains import PHOTO, SKETCH
from zssbir_core.data.folder import FolderDataset, Sample
from zssbir_core.data.image_dataset import ImageDataset
from zssbir_core.data.transforms import eval_transform
from zssbir_core.device import autocast as device_autocast
from zssbir_core.errors import DatasetError
from zssbir_core.evaluation.metrics import retrieval_metrics
from zssbir_core.models.network import ZSSBIRNet
from zssbir_core.models.preprocessing import Preprocessing
from zssbir_core.models.registry import Embedder
from zssbir_core.query_expansion import NO_EXPANSION, QueryExpansion, expand_queries


def embed_samples(
    embedder_or_net: Embedder | ZSSBIRNet,
    samples: Sequence[Sample],
    preprocessing: Preprocessing,
    *,
    device: torch.device | str,
    batch_size: int = 64,
    num_workers: int = 0,
    progress: Callable[[int], None] | None = None,
    draw_sketches: bool = False,
    precision: torch.dtype | str | None = "auto",
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
    device = torch.device(device)
    transform = eval_transform(preprocessing)
    transforms = {PHOTO: transform, SKETCH: transform}
    if draw_sketches:
        from zssbir_core.data.pseudo_sketch import PseudoSketchTransform

        transforms[SKETCH] = PseudoSketchTransform(transform, augment=False)
    dataset = ImageDataset(samples, transforms, target_size=preprocessing.image_size)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
    )
    if isinstance(embedder_or_net, Embedder):
        return _collect(_reported(embedder_or_net.embed_tensors(images), progress) for images, _, _ in loader)

    net = embedder_or_net
    was_training = net.training
    net.eval()
    try:
        with torch.inference_mode():
            return _collect(
                _reported(_encode(net, images, device, precision, channels_last), progress) for images, _, _ in loader
            )
    finally:
        net.train(was_training)


def embed_and_score(
    embedder_or_net: Embedder | ZSSBIRNet,
    queries: Sequence[Sample],
    gallery: Sequence[Sample],
    preprocessing: Preprocessing,
    *,
    device: torch.device | str,
    draw_queries: bool = False,
    batch_size: int = 64,
    num_workers: int = 0,
    progress: Callable[[int], None] | None = None,
    expansion: QueryExpansion = NO_EXPANSION,
    precision: torch.dtype | str | None = "auto",
    channels_last: bool = False,
) -> dict[str, float]:
    """Embed the sketch ``queries`` and the photo ``gallery``, then score sketch-to-photo
    retrieval: the metrics of ``retrieval_metrics`` (``map_all``, ``p_10``, ...).

    ``draw_queries``: the queries are photos, drawn as sketches first (photos-only data).
    ``progress(n)`` counts embedded images (queries, then gallery); ``expansion`` expands each
    query with its nearest photos first, as the app's search does; the other options are those
    of ``embed_samples``.
    """
    if draw_queries:
        queries = [dataclasses.replace(sample, domain=SKETCH) for sample in queries]
    options = dict(device=device, batch_size=batch_size, num_workers=num_workers, progress=progress,
                   draw_sketches=draw_queries, precision=precision, channels_last=channels_last)
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
    device: torch.device | str,
    batch_size: int = 64,
    num_workers: int = 0,
    progress: Callable[[int], None] | None = None,
    expansion: QueryExpansion = NO_EXPANSION,
) -> dict[str, float]:
    """Sketches of ``dataset`` query its photos; the metrics of ``retrieval_metrics``.
    ``progress(n)`` counts embedded images (sketches, then photos); ``expansion`` expands each
    query with its nearest photos first, as the app's search does."""
    sketches, photos = dataset.sketches(), dataset.photos()
    if not sketches:
        raise DatasetError(f"{dataset.root}: no sketches to evaluate with (queries are sketches)")
    if not photos:
        raise DatasetError(f"{dataset.root}: no photos to retrieve (the gallery is empty)")
    return embed_and_score(
        embedder_or_net, sketches, photos, preprocessing, device=device, batch_size=batch_size,
        num_workers=num_workers, progress=progress, expansion=expansion,
    )


def _encode(
    net: ZSSBIRNet, images: torch.Tensor, device: torch.device, precision: torch.dtype | str | None, channels_last: bool
) -> np.ndarray:
    images = images.to(device, non_blocking=True)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    with _autocast(device, precision):
        vectors = net.encode(images)
    return torch.nn.functional.normalize(vectors.float(), dim=1).cpu().numpy()


def _autocast(device: torch.device, precision: torch.dtype | str | None) -> AbstractContextManager[None]:
    if precision == "auto":
        return device_autocast(device)
    if precision is None:
        return nullcontext()
    return torch.autocast(device.type, dtype=precision)


def _reported(vectors: np.ndarray, progress: Callable[[int], None] | None) -> np.ndarray:
    if progress is not None:
        progress(len(vectors))
    return vectors


def _collect(batches) -> np.ndarray:
    arrays = list(batches)
    if not arrays:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(arrays).astype(np.float32, copy=False)
