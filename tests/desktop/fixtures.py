"""Real data for the desktop tests: a few Sketchy photos copied to a tmp folder, and the real
Lite0 ImageNet model run at a small input size so indexing and searching stay fast on a CPU."""

from __future__ import annotations

import shutil
from pathlib import Path

CLASSES = ("apple", "bicycle", "castle", "cat")


def copy_photos(sketchy_root: Path, target: Path, per_class: int, classes: tuple[str, ...] = CLASSES) -> Path:
    """Copy ``per_class`` photos of each class into ``target`` (flat, like a camera folder)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in classes:
        for photo in sorted((sketchy_root / "photo" / name).glob("*.jpg"))[:per_class]:
            shutil.copy2(photo, target / f"{name}-{photo.name}")
    return target
