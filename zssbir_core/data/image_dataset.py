"""A torch ``Dataset`` over ``Sample`` lists, with one transform per domain."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset

from zssbir_core.data.domains import SKETCH
from zssbir_core.data.folder import Sample
from zssbir_core.data.sample_batches import open_sample


class ImageDataset(Dataset):
    """Item ``i`` is ``(transforms[domain](image), label, domain)`` of ``samples[i]``.

    ``drawn_transform`` turns the SKETCH-domain samples whose file is among ``drawn_paths`` (photos
    standing in as sketches) into sketch-domain tensors (a ``PseudoSketchTransform``). Samples whose
    file is a key of ``doodles`` are not opened: their strokes are drawn by ``doodle_drawing``
    (``data/doodles.py``) and go through the SKETCH transform.

    Images are decoded with ``open_image`` (RGB; with ``target_size``, large JPEGs are decoded at
    reduced scale, never below that side). A file that became unreadable since the dataset was
    scanned raises ``DatasetError`` naming it: unlike ``ImageReadError`` it keeps its type when a
    ``DataLoader`` worker process re-raises it, so callers can still tell a data problem apart.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        transforms: Mapping[int, Callable[[Image.Image], torch.Tensor]],
        *,
        target_size: int | None = None,
        drawn_paths: frozenset[Path] = frozenset(),
        drawn_transform: Callable[[Image.Image], torch.Tensor] | None = None,
        doodles: Mapping[Path, Any] | None = None,
        doodle_drawing: Callable[[Any], Image.Image] | None = None,
    ) -> None:
        missing = {sample.domain for sample in samples} - set(transforms)
        if missing:
            raise ValueError(f"no transform given for domain(s) {sorted(missing)}")
        self.samples = list(samples)
        self.transforms = dict(transforms)
        self.target_size = target_size
        self.drawn_paths = drawn_paths
        self.drawn_transform = drawn_transform
        self.doodles = dict(doodles or {})
        self.doodle_drawing = doodle_drawing
        if self.doodles and doodle_drawing is None:
            raise ValueError("doodles given without a doodle_drawing")

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        sample = self.samples[index]
        if sample.domain == SKETCH and sample.path in self.doodles:
            return self.transforms[SKETCH](self.doodle_drawing(self.doodles[sample.path])), sample.label, sample.domain
        image = open_sample(sample, self.target_size)
        transform = self.transforms[sample.domain]
        if self.drawn_transform is not None and sample.domain == SKETCH and sample.path in self.drawn_paths:
            transform = self.drawn_transform
        return transform(image), sample.label, sample.domain
