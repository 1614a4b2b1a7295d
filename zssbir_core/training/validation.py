"""Model selection: the held-out seen classes' sketches query their photos after an epoch
(photos-only data: drawings of the photos query), scored by ``embed_and_score``."""

from __future__ import annotations

import random

import torch

from zssbir_core.data.folder import FolderDataset, Sample
from zssbir_core.evaluation.evaluate import embed_and_score
from zssbir_core.training.config import TrainConfig
from zssbir_core.training.setup import NetSetup


def validation_queries(val: FolderDataset, config: TrainConfig) -> list[Sample]:
    """The query samples: the sketches (at most ``val_sketches_per_class`` of each class, picked
    with the config's seed), or the photos when the data has no sketches."""
    cap = config.val_sketches_per_class
    sketches = val.sketches() or val.photos()
    if cap is None:
        return sketches
    rng = random.Random(config.seed)
    by_class: dict[int, list[Sample]] = {}
    for sample in sketches:
        by_class.setdefault(sample.label, []).append(sample)
    return [s for label in sorted(by_class) for s in sorted(
        rng.sample(by_class[label], min(cap, len(by_class[label]))), key=lambda s: str(s.path))]


class Validator:
    """Scores the network on the validation classes ``val`` (the same queries every time)."""

    def __init__(self, val: FolderDataset, config: TrainConfig, device: torch.device) -> None:
        self.config = config
        self.device = device
        self.gallery = val.photos()
        self.queries = validation_queries(val, config)
        self.drawn = not val.has_sketches

    def __call__(self, net: NetSetup) -> dict[str, float]:
        """The retrieval metrics (``map_all``, ``p_10``, ...); the frozen norm layers stay in eval mode."""
        metrics = embed_and_score(
            net.net, self.queries, self.gallery, net.preprocessing, device=self.device, draw_queries=self.drawn,
            num_workers=self.config.num_workers, precision=net.amp_dtype, channels_last=net.channels_last,
        )
        for module in net.frozen_norms:
            module.eval()
        return metrics
