"""Test setup shared by the whole suite: offscreen Qt, CPU only, no network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["CUDA_VISIBLE_DEVICES"] = ""

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "sketchy-seen100"


@pytest.fixture(scope="session")
def sketchy_root() -> Path:
    """The real Sketchy sample beside the checkout; tests that need it skip where it is absent."""
    if not (SHARED_DATA / "photo").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA
