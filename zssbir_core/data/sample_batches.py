"""Samples decoded and transformed into (B, 3, S, S) float32 arrays by a few threads: the loader of
an ``Embedder`` (evaluation, ``zssbir-cli embed``), which needs no torch ``DataLoader``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from PIL import Image

from zssbir_core.data.folder import Sample
from zssbir_core.errors import DatasetError, ImageReadError
from zssbir_core.imageio import open_image


def open_sample(sample: Sample, target_size: int | None) -> Image.Image:
    """The sample's image (RGB; large JPEGs decoded at reduced scale, never below ``target_size``).
    A file that became unreadable since the dataset was scanned raises ``DatasetError`` naming it."""
    try:
        return open_image(sample.path, target_size=target_size)
    except ImageReadError as error:
        raise DatasetError(f"{error} (the file changed after the dataset was checked)") from None


def sample_batches(
    samples: Sequence[Sample], transforms: Mapping[int, Callable[[Image.Image], Any]], *, target_size: int | None,
    batch_size: int, workers: int = 0,
) -> Iterator[np.ndarray]:
    """Batches of ``transforms[sample.domain](image)`` in the order of ``samples``, decoded by
    ``workers`` threads (0: up to 4, one per core)."""
    def load(sample: Sample) -> np.ndarray:
        return np.asarray(transforms[sample.domain](open_sample(sample, target_size)), dtype=np.float32)

    with ThreadPoolExecutor(workers or min(4, os.cpu_count() or 1)) as pool:
        for start in range(0, len(samples), batch_size):
            yield np.stack(list(pool.map(load, samples[start : start + batch_size])))
