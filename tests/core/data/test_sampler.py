"""The balanced sampler's invariant: every batch is P classes x (K photos + K sketches)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from zssbir_core.data.domains import PHOTO, SKETCH
from zssbir_core.data.sampler import BalancedBatchSampler
from zssbir_core.errors import DatasetError


def fake_labels(seed: int = 0):
    """Uneven classes: some with fewer photos than K, one without sketches, shuffled order."""
    rng = np.random.default_rng(seed)
    labels, domains = [], []
    for label in range(12):
        n_photos = int(rng.integers(1, 9))
        n_sketches = 0 if label == 11 else int(rng.integers(1, 15))
        labels += [label] * (n_photos + n_sketches)
        domains += [PHOTO] * n_photos + [SKETCH] * n_sketches
    order = rng.permutation(len(labels))
    return [labels[i] for i in order], [domains[i] for i in order]


def check_batch(batch, labels, domains, p, k):
    assert len(batch) == 2 * p * k
    per_class = Counter(labels[i] for i in batch)
    assert len(per_class) == p
    for label in per_class:
        members = [i for i in batch if labels[i] == label]
        assert Counter(domains[i] for i in members) == {PHOTO: k, SKETCH: k}


@pytest.mark.parametrize("p,k", [(2, 1), (4, 2), (6, 3), (11, 2)])
def test_every_batch_has_p_classes_times_k_per_domain(p, k):
    labels, domains = fake_labels()
    sampler = BalancedBatchSampler(labels, domains, p, k, batches_per_epoch=40, seed=3)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 40
    for batch in batches:
        check_batch(batch, labels, domains, p, k)
        assert 11 not in {labels[i] for i in batch}  # class without sketches never sampled


def test_distinct_images_when_class_is_large_enough():
    labels, domains = fake_labels(1)
    counts = Counter(zip(labels, domains))
    for batch in BalancedBatchSampler(labels, domains, 3, 2, batches_per_epoch=30):
        for index, repeats in Counter(batch).items():
            if repeats > 1:
                assert counts[(labels[index], domains[index])] < 2


def test_an_epoch_covers_every_image_before_repeating():
    labels = [c for c in range(4) for _ in range(6)]
    domains = [PHOTO, PHOTO, PHOTO, SKETCH, SKETCH, SKETCH] * 4
    sampler = BalancedBatchSampler(labels, domains, 2, 3, batches_per_epoch=2)
    seen = [i for batch in sampler for i in batch]
    assert sorted(seen) == list(range(24))


def test_epochs_differ_and_are_reproducible():
    labels, domains = fake_labels()
    sampler = BalancedBatchSampler(labels, domains, 3, 2, batches_per_epoch=5, seed=7)
    first = list(sampler)
    assert list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_ranks_split_the_same_epoch():
    labels, domains = fake_labels()
    whole = list(BalancedBatchSampler(labels, domains, 3, 2, batches_per_epoch=8, seed=2))
    parts = [
        list(BalancedBatchSampler(labels, domains, 3, 2, batches_per_epoch=4, seed=2, rank=r, world_size=2))
        for r in range(2)
    ]
    assert parts[0] == whole[0::2] and parts[1] == whole[1::2]


def test_default_length_shows_each_image_about_once():
    labels, domains = fake_labels()
    sampler = BalancedBatchSampler(labels, domains, 2, 2)
    eligible = sum(1 for label in labels if label != 11)
    assert len(sampler) == -(-eligible // 8)


def test_too_few_classes_with_both_domains_is_a_dataset_error():
    labels = [0, 0, 1, 1, 2]
    domains = [PHOTO, SKETCH, PHOTO, SKETCH, PHOTO]
    with pytest.raises(DatasetError, match="needs 3 classes with both photos and sketches.*only 2"):
        BalancedBatchSampler(labels, domains, 3, 1)
