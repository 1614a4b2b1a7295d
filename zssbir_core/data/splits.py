"""The standard zero-shot class splits of the benchmarks, shipped as text files in ``splits/``.

Each split ``<benchmark>_<variant>`` has a ``_seen.txt`` (training classes) and an
``_unseen.txt`` (test classes) file: one class name per line, ``#`` lines are comments naming the
source. Class lists are copied from the published split files, never reconstructed.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

from zssbir_core.errors import DatasetError

SPLITS = {
    "sketchy_sake": "Sketchy Extended, 100 seen / 25 unseen classes (SAKE, Liu et al. 2019)",
    "sketchy_yelamarthi": "Sketchy Extended, 104 seen / 21 unseen (Yelamarthi et al. 2018)",
    "tuberlin": "TU-Berlin Extended, 220 seen / 30 unseen (SAKE)",
    "quickdraw": "QuickDraw Extended, 80 seen / 30 unseen (Doodle2Search, Dey et al. 2019)",
}
PARTS = ("seen", "unseen")


def split_file_names() -> list[str]:
    """Every shipped class list, e.g. ``sketchy_sake_unseen``."""
    return [f"{split}_{part}" for split in SPLITS for part in PARTS]


def load_split(split: str, part: str) -> list[str]:
    """The ``part`` ("seen" or "unseen") classes of the shipped ``split``."""
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    if part not in PARTS:
        raise ValueError(f"part must be 'seen' or 'unseen', got {part!r}")
    text = resources.files("zssbir_core.data").joinpath("splits", f"{split}_{part}.txt").read_text(
        encoding="utf-8"
    )
    return parse_class_list(text)


def read_class_list(spec: str | os.PathLike[str]) -> list[str]:
    """Classes from a text file (one per line, ``#`` comments) or a shipped list's name
    (``sketchy_sake_unseen``, ...)."""
    name = str(spec)
    if name in split_file_names():
        split, part = name.rsplit("_", 1)
        return load_split(split, part)
    path = Path(name).expanduser()
    try:
        classes = parse_class_list(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(
            f"{path}: class list not found (give a text file, one class per line, or one of "
            f"{', '.join(split_file_names())})"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: cannot read class list ({error})") from None
    if not classes:
        raise DatasetError(f"{path}: the class list is empty")
    return classes


def parse_class_list(text: str) -> list[str]:
    """Non-empty, non-comment lines, stripped; duplicates dropped (first kept)."""
    classes: list[str] = []
    for line in text.splitlines():
        name = line.strip()
        if name and not name.startswith("#") and name not in classes:
            classes.append(name)
    return classes


def class_key(name: str) -> str:
    """A spelling-insensitive key: releases write ``palm tree``, ``palm_tree`` or ``palm-tree``."""
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())
