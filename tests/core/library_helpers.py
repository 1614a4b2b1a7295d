"""Shared pieces of the library tests: the real Lite0 model at a small input size, real photos."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SMALL_SIZE = 64
"""Input side for the tests' model: real ImageNet weights, cheap on a CPU."""


@pytest.fixture(scope="session")
def embedder():
    """EfficientNet-Lite0 with its real ImageNet weights at 64 px (model id ``lite0-imagenet@64``)."""
    from zssbir_core.models.registry import load_model

    return load_model("lite0-imagenet", device="cpu", image_size=SMALL_SIZE)


def copy_photos(sketchy_root: Path, destination: Path, classes: dict[str, int]) -> list[Path]:
    """Copy ``count`` real photos of each class into ``destination/<class>/``."""
    copied = []
    for name, count in classes.items():
        folder = destination / name
        folder.mkdir(parents=True, exist_ok=True)
        for source in sorted((sketchy_root / "photo" / name).glob("*.jpg"))[:count]:
            copied.append(Path(shutil.copy2(source, folder / source.name)))
    return copied


def first_sketch(sketchy_root: Path, name: str) -> Path:
    return sorted((sketchy_root / "sketch" / name).glob("*.png"))[0]


@pytest.fixture(scope="session")
def other_embedder():
    """The same network at 72 px: another model id, so a library must re-embed for it."""
    from zssbir_core.models.registry import load_model

    return load_model("lite0-imagenet", device="cpu", image_size=72)
