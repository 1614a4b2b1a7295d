"""Hold out some of the user's images so that the new and the current model can be compared fairly.

The trainer's own validation holds out whole classes (zero-shot model selection). A user who
fine-tunes on their dog wants to know whether *their dog* is found better, so the figures shown
in the app come from images of the user's own classes that training never saw: ``split_holdout``
writes two dataset folders (``train/`` and ``heldout/``, layout ``photo/<class>/`` and, when the
data has sketches, ``sketch/<class>/``) whose files are hard links to the user's files (symbolic
links, then copies, where the file system refuses). The user's folder is never changed.
"""

from __future__ import annotations

import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from zssbir_core.data.domains import DOMAIN_NAMES
from zssbir_core.data.folder import FolderDataset
from zssbir_core.errors import DatasetError

MIN_TRAIN_PER_CLASS = 3
"""A class keeps at least this many images of a domain for training; smaller ones hold out none."""


@dataclass(frozen=True)
class HoldoutSplit:
    """The two dataset folders written by ``split_holdout``."""

    train_root: Path
    heldout_root: Path
    train_images: int
    heldout_images: int


def split_holdout(dataset: FolderDataset, directory: str | Path, *, fraction: float = 0.2,
                  seed: int = 0) -> HoldoutSplit:
    """Write ``directory/train`` and ``directory/heldout`` with about ``fraction`` of each class held out.

    Every class and domain with more than ``MIN_TRAIN_PER_CLASS`` images gives
    ``round(fraction * n)`` of them (at least one) to the held-out folder, picked with ``seed``.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError("fraction must be between 0 and 1")
    directory = Path(directory)
    train_root, heldout_root = directory / "train", directory / "heldout"
    if train_root.exists() or heldout_root.exists():
        raise DatasetError(f"{directory} already holds a split; choose an empty folder")
    rng = random.Random(seed)
    counts = {"train": 0, "heldout": 0}
    by_group: dict[tuple[int, int], list[Path]] = {}
    for sample in dataset.samples:
        by_group.setdefault((sample.label, sample.domain), []).append(sample.path)
    for (label, domain), files in sorted(by_group.items()):
        files = sorted(files)
        held = set()
        if len(files) > MIN_TRAIN_PER_CLASS:
            count = min(max(1, round(fraction * len(files))), len(files) - MIN_TRAIN_PER_CLASS)
            held = set(rng.sample(files, count))
        for index, path in enumerate(files):
            part = "heldout" if path in held else "train"
            root = heldout_root if part == "heldout" else train_root
            target = root / DOMAIN_NAMES[domain] / dataset.classes[label] / f"{index:05d}-{path.name}"
            _link_or_copy(path, target)
            counts[part] += 1
    return HoldoutSplit(train_root, heldout_root, counts["train"], counts["heldout"])


def _link_or_copy(source: Path, target: Path) -> None:
    """Hard link, else symbolic link, else copy ``source`` to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
        return
    except OSError:
        pass
    try:
        target.symlink_to(source.resolve())
        return
    except OSError:
        pass
    shutil.copy2(source, target)
