"""Embed a dataset with a model and score sketch-to-photo retrieval."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

from zssbir_core.data.domains import PHOTO, SKETCH
from zssbir_core.data.folder import FolderDataset, Sample
from zssbir_core.data.image_dataset import ImageDataset
from zssbir_core.data.transforms import eval_transform
from zssbir_core.device import autocast
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
) -> np.ndarray:
    """(len(samples), D) float32 L2-normalised embeddings, in the order of ``samples``.

    Accepts an ``Embedder`` or a bare ``ZSSBIRNet`` (e.g. the model being trained: it is put in
    eval mode for the pass and its previous mode restored after). ``progress(n)`` is called
    after each batch with the number of images it held.
    """
    device = torch.device(device)
    transform = eval_transform(preprocessing)
    dataset = ImageDataset(
        samples, {PHOTO: transform, SKETCH: transform}, target_size=preprocessing.image_size
    )
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
            return _collect(_reported(_encode(net, images, device), progress) for images, _, _ in loader)
    finally:
        net.train(was_training)


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
    options = dict(device=device, batch_size=batch_size, num_workers=num_workers, progress=progress)
    query = embed_samples(embedder_or_net, sketches, preprocessing, **options)
    gallery = embed_samples(embedder_or_net, photos, preprocessing, **options)
    query = expand_queries(query, gallery, expansion)
    return retrieval_metrics(
        query,
        np.array([s.label for s in sketches]),
        gallery,
        np.array([s.label for s in photos]),
        device=device,
    )


def _encode(net: ZSSBIRNet, images: torch.Tensor, device: torch.device) -> np.ndarray:
    with autocast(device):
        vectors = net.encode(images.to(device, non_blocking=True))
    return torch.nn.functional.normalize(vectors.float(), dim=1).cpu().numpy()


def _reported(vectors: np.ndarray, progress: Callable[[int], None] | None) -> np.ndarray:
    if progress is not None:
        progress(len(vectors))
    return vectors


def _collect(batches) -> np.ndarray:
    arrays = list(batches)
    if not arrays:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(arrays).astype(np.float32, copy=False)
