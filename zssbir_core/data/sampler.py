"""Batches of P classes x (K photos + K sketches), the shape the quadruplet loss needs."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from zssbir_core.data.domains import PHOTO, SKETCH
from zssbir_core.errors import DatasetError


class BalancedBatchSampler:
    """Yields index lists: ``classes_per_batch`` distinct classes, each with ``samples_per_domain``
    photos followed by as many sketches.

    Classes are visited in shuffled rounds, so every class appears about equally often; inside a
    class, photos and sketches are drawn from shuffled pools that refill when exhausted, so every
    image is seen before any repeats. A class with fewer than K images of a domain repeats some of
    them within the batch (sampling with replacement). Only classes having both domains take part.

    For data-parallel training, every rank builds the same epoch from ``seed`` and ``epoch`` and
    keeps every ``world_size``-th batch starting at ``rank``. ``batches_per_epoch`` defaults to the
    number of batches that show each eligible image about once.
    """

    def __init__(
        self,
        labels: Sequence[int],
        domains: Sequence[int],
        classes_per_batch: int,
        samples_per_domain: int,
        *,
        batches_per_epoch: int | None = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if len(labels) != len(domains):
            raise ValueError(f"{len(labels)} labels but {len(domains)} domains")
        if classes_per_batch < 1 or samples_per_domain < 1:
            raise ValueError("classes_per_batch and samples_per_domain must be at least 1")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world of size {world_size}")
        self._pools: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        labels_array = np.asarray(labels, dtype=np.int64)
        domains_array = np.asarray(domains, dtype=np.int64)
        for label in np.unique(labels_array):
            in_class = labels_array == label
            photos = np.flatnonzero(in_class & (domains_array == PHOTO))
            sketches = np.flatnonzero(in_class & (domains_array == SKETCH))
            if len(photos) and len(sketches):
                self._pools[int(label)] = (photos, sketches)
        if len(self._pools) < classes_per_batch:
            raise DatasetError(
                f"a batch needs {classes_per_batch} classes with both photos and sketches, "
                f"but the data has only {len(self._pools)}"
            )
        self.classes_per_batch = classes_per_batch
        self.samples_per_domain = samples_per_domain
        self.batch_size = 2 * classes_per_batch * samples_per_domain
        if batches_per_epoch is None:
            eligible = sum(len(p) + len(s) for p, s in self._pools.values())
            batches_per_epoch = max(1, math.ceil(eligible / self.batch_size / world_size))
        if batches_per_epoch < 1:
            raise ValueError("batches_per_epoch must be at least 1")
        self.batches_per_epoch = batches_per_epoch
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose batches the next iteration yields (a new shuffle per epoch)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.batches_per_epoch

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        class_ids = np.array(sorted(self._pools))
        class_queue: list[int] = []
        pools = {c: (_Pool(p, rng), _Pool(s, rng)) for c, (p, s) in self._pools.items()}
        for batch_number in range(self.batches_per_epoch * self.world_size):
            chosen = _deal_distinct(
                class_queue, self.classes_per_batch, lambda: rng.permutation(class_ids)
            )
            batch: list[int] = []
            for label in chosen:
                photos, sketches = pools[label]
                batch.extend(photos.take(self.samples_per_domain))
                batch.extend(sketches.take(self.samples_per_domain))
            if batch_number % self.world_size == self.rank:
                yield batch


class _Pool:
    """Indices of one class and domain, dealt out in shuffled passes."""

    def __init__(self, indices: np.ndarray, rng: np.random.Generator) -> None:
        self._indices = indices
        self._rng = rng
        self._queue: list[int] = []

    def take(self, k: int) -> list[int]:
        if len(self._indices) < k:
            return self._rng.choice(self._indices, size=k, replace=True).tolist()
        return _deal_distinct(self._queue, k, lambda: self._rng.permutation(self._indices))


def _deal_distinct(queue: list[int], k: int, refill: Callable[[], np.ndarray]) -> list[int]:
    """Pop ``k`` distinct items from the end of ``queue``, refilling it with ``refill()`` when
    empty; duplicates met on the way go back to be dealt first next time."""
    taken: list[int] = []
    deferred: list[int] = []
    while len(taken) < k:
        if not queue:
            queue.extend(refill().tolist())
        item = queue.pop()
        (deferred if item in taken else taken).append(item)
    queue.extend(reversed(deferred))
    return taken
