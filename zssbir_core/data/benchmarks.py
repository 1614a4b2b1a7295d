"""Readers for the ZS-SBIR benchmarks in the folder layouts their releases unpack to.

- Sketchy Extended: sketches ``256x256/sketch/tx_000000000000/<class>/*.png`` (the Sketchy
  release; SAKE's copy adds ``_ready``; Doodle2Search and SEM-PCYC use ``Sketchy/sketch/...``),
  photos ``EXTEND_image_sketchy/<class>/*.jpg`` (the 73,002-photo extension of Liu et al. 2017,
  which already holds the 12,500 original photos; SEM-PCYC renames it ``extended_photo``), or only
  the original ``256x256/photo/tx_000000000000`` when the extension is absent.
- TU-Berlin Extended: ``png_ready`` + ``ImageResized_ready`` (SAKE), or ``sketches`` + ``images``
  (Doodle2Search, SEM-PCYC).
- QuickDraw Extended: ``QuickDraw_sketches_final`` + ``QuickDraw_images_final`` (Doodle2Search
  release), or ``sketches`` + ``images``.

``root`` may be the benchmark's own folder or its parent (``Sketchy/``, ``TUBerlin/``,
``TU-Berlin/``, ``QuickDraw/`` are looked for). Class names are matched ignoring case and the
space/underscore/hyphen spelling differences between releases; dataset labels keep the folder
names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from zssbir_core.data.domains import PHOTO, SKETCH
from zssbir_core.data.folder import FolderDataset, scan_domain_dirs
from zssbir_core.data.splits import load_split
from zssbir_core.errors import DatasetError


@dataclass(frozen=True)
class Benchmark:
    """Where a benchmark keeps its photos and sketches, in the order the layouts are tried."""

    name: str
    subfolders: tuple[str, ...]
    layouts: tuple[tuple[str, str], ...]  # (photo dir, sketch dir) relative to the benchmark root
    splits: tuple[str, ...]


BENCHMARKS = {
    "sketchy": Benchmark(
        "Sketchy Extended",
        ("Sketchy", "sketchy"),
        (
            ("EXTEND_image_sketchy", "256x256/sketch/tx_000000000000"),
            ("EXTEND_image_sketchy_ready", "256x256/sketch/tx_000000000000_ready"),
            ("EXTEND_image_sketchy", "sketch/tx_000000000000"),
            ("extended_photo", "sketch/tx_000000000000"),
            ("256x256/photo/tx_000000000000", "256x256/sketch/tx_000000000000"),
            ("photo/tx_000000000000", "sketch/tx_000000000000"),
        ),
        ("sketchy_sake", "sketchy_yelamarthi"),
    ),
    "tuberlin": Benchmark(
        "TU-Berlin Extended",
        ("TUBerlin", "TU-Berlin", "tuberlin"),
        (("ImageResized_ready", "png_ready"), ("images", "sketches")),
        ("tuberlin",),
    ),
    "quickdraw": Benchmark(
        "QuickDraw Extended",
        ("QuickDraw", "quickdraw"),
        (("QuickDraw_images_final", "QuickDraw_sketches_final"), ("images", "sketches")),
        ("quickdraw",),
    ),
}


def find_benchmark_dirs(name: str, root: str | os.PathLike[str]) -> dict[int, Path]:
    """The photo and sketch folders of benchmark ``name`` under ``root``."""
    benchmark = _benchmark(name)
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder does not exist")
    for base in [root, *(root / sub for sub in benchmark.subfolders)]:
        for photo, sketch in benchmark.layouts:
            if (base / photo).is_dir() and (base / sketch).is_dir():
                return {PHOTO: base / photo, SKETCH: base / sketch}
    tried = ", ".join(f"{p} + {s}" for p, s in benchmark.layouts)
    raise DatasetError(f"{root}: no {benchmark.name} layout found (looked for {tried})")


def detect_benchmark(root: str | os.PathLike[str]) -> str | None:
    """The benchmark whose layout ``root`` holds, or None."""
    for name in BENCHMARKS:
        try:
            find_benchmark_dirs(name, root)
        except DatasetError:
            continue
        return name
    return None


def read_benchmark(
    name: str,
    root: str | os.PathLike[str],
    *,
    classes: Sequence[str] | None = None,
    on_problem: str = "skip",
    check_images: bool = True,
) -> FolderDataset:
    """Benchmark ``name`` ("sketchy", "tuberlin", "quickdraw") at ``root``, restricted to
    ``classes`` (e.g. ``load_split("sketchy_sake", "unseen")``) when given, labelled in that order.
    A listed class missing from the folders is a ``DatasetError``."""
    return scan_domain_dirs(
        Path(root).expanduser(),
        find_benchmark_dirs(name, root),
        on_problem=on_problem,
        check_images=check_images,
        classes=classes,
    )


def read_benchmark_split(
    split: str, part: str, root: str | os.PathLike[str], **options: object
) -> FolderDataset:
    """The ``part`` ("seen"/"unseen") classes of a shipped ``split`` of the benchmark at ``root``."""
    name = next((b for b, spec in BENCHMARKS.items() if split in spec.splits), None)
    if name is None:
        raise DatasetError(f"unknown split {split!r}")
    return read_benchmark(name, root, classes=load_split(split, part), **options)


def _benchmark(name: str) -> Benchmark:
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise DatasetError(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}") from None
