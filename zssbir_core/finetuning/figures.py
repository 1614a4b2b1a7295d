"""Sketch-to-photo figures of one or more models on the same images (the held-out part of the user's data).

Queries are the folder's sketches; a photos-only folder is queried with sketches drawn from its
photos (the deterministic default style of ``photo_to_sketch``), which is the only sketch-like
query such data offers. Every model sees the same queries and the same gallery.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zssbir_core.data.domains import SKETCH
from zssbir_core.data.folder import FolderDataset, Sample, scan_folder_dataset
from zssbir_core.errors import ZssbirError

if TYPE_CHECKING:
    import torch

    from zssbir_core.models.preprocessing import Preprocessing


class FiguresCancelled(ZssbirError):
    """The comparison was cancelled before it finished."""


def compare_models(
    specs: Sequence[str],
    data: FolderDataset | str | Path,
    *,
    device: str = "cpu",
    batch_size: int = 32,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, dict[str, float]]:
    """``{spec: retrieval metrics}`` (``map_all``, ``p_10``, ...) of each model spec on ``data``."""
    from zssbir_core.models import load_model

    dataset = data if isinstance(data, FolderDataset) else scan_folder_dataset(data)
    photos = dataset.photos()
    sketches = dataset.sketches()
    drawn = not sketches
    if drawn:
        sketches = [_as_sketch(sample) for sample in photos]
    total = len(specs) * (len(photos) + len(sketches))
    done = 0
    figures: dict[str, dict[str, float]] = {}
    for spec in specs:
        embedder = load_model(spec, device=device)
        vectors = []
        for samples, as_drawing in ((photos, False), (sketches, drawn)):
            chunks = []
            for start in range(0, len(samples), batch_size):
                if cancel is not None and cancel.is_set():
                    raise FiguresCancelled("the comparison of the models was cancelled")
                batch = samples[start:start + batch_size]
                chunks.append(embedder.embed_tensors(_load_batch(batch, embedder.preprocessing, as_drawing)))
                done += len(batch)
                if progress is not None:
                    progress(done, total)
            vectors.append(np.concatenate(chunks))
        from zssbir_core.evaluation.metrics import retrieval_metrics

        photo_labels = np.array([s.label for s in photos])
        sketch_labels = np.array([s.label for s in sketches])
        metrics = retrieval_metrics(vectors[1], sketch_labels, vectors[0], photo_labels)
        figures[spec] = {key: float(value) for key, value in metrics.items()}
        figures[spec]["queries"] = float(len(sketches))
        figures[spec]["gallery"] = float(len(photos))
    return figures


def _as_sketch(sample: Sample) -> Sample:
    import dataclasses

    return dataclasses.replace(sample, domain=SKETCH)


def _load_batch(samples: Sequence[Sample], preprocessing: Preprocessing, as_drawing: bool) -> torch.Tensor:
    """Decode, (draw,) and preprocess ``samples`` as one batch."""
    import torch

    from zssbir_core.data.pseudo_sketch import photo_to_sketch
    from zssbir_core.imageio import open_image

    transform = preprocessing.transform()
    images = []
    for sample in samples:
        image = open_image(sample.path, target_size=max(preprocessing.image_size, 256))
        if as_drawing and sample.domain == SKETCH:
            image = photo_to_sketch(image)
        images.append(transform(image))
    return torch.stack(images)

