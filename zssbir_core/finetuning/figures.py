"""Sketch-to-photo figures of one or more models on the same images (the held-out part of the user's data).

Queries are the folder's sketches; a photos-only folder is queried with sketches drawn from its
photos (the deterministic default style of ``photo_to_sketch``), which is the only sketch-like
query such data offers. Every model sees the same queries and the same gallery, embedded and
scored by ``evaluation.evaluate.embed_and_score``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from zssbir_core.data.folder import FolderDataset, scan_folder_dataset
from zssbir_core.errors import ZssbirError


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
    """``{spec: retrieval metrics}`` (``map_all``, ``p_10``, ...) of each model spec on ``data``,
    with ``queries`` and ``gallery`` (their counts). ``progress(done, total)`` counts embedded
    images over all models; ``cancel`` is checked between batches."""
    from zssbir_core.evaluation.evaluate import embed_and_score
    from zssbir_core.models import load_model

    dataset = data if isinstance(data, FolderDataset) else scan_folder_dataset(data)
    photos = dataset.photos()
    sketches = dataset.sketches()
    drawn = not sketches
    queries = photos if drawn else sketches
    total = len(specs) * (len(photos) + len(queries))
    done = 0

    def count(images: int) -> None:
        nonlocal done
        done += images
        if progress is not None:
            progress(done, total)
        check_cancel()

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise FiguresCancelled("the comparison of the models was cancelled")

    figures: dict[str, dict[str, float]] = {}
    for spec in specs:
        check_cancel()
        embedder = load_model(spec, device=device)
        metrics = embed_and_score(embedder, queries, photos, embedder.preprocessing, device=embedder.device,
                                  draw_queries=drawn, batch_size=batch_size, progress=count)
        figures[spec] = {key: float(value) for key, value in metrics.items()}
        figures[spec]["queries"] = float(len(queries))
        figures[spec]["gallery"] = float(len(photos))
    return figures
