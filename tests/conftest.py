"""Test setup shared by the whole suite: offscreen Qt, CPU only, no network, and the real data rule."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["CUDA_VISIBLE_DEVICES"] = ""

REPO_ROOT = Path(__file__).resolve().parent.parent


def sigint_as_at_a_terminal() -> None:
    """``preexec_fn`` of a child that a test stops with SIGINT (Ctrl-C): SIGINT's default action,
    even when the tests run with it ignored (a background job of a non-interactive shell passes
    SIG_IGN down, and Python then raises no KeyboardInterrupt at all)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "sketchy-seen100"
SAMPLE = REPO_ROOT / "tests" / "data" / "sample"
"""The tests' own real sample (tests/data/sample/README.md): a few Sketchy classes, in the repository."""


def running_in_ci() -> bool:
    """True when the ``CI`` environment variable is set to a true value (``.ci/run`` sets it)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that reads the big shared Sketchy sample is a ``needs_data`` test."""
    for item in items:
        if "shared_sketchy_root" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.needs_data)


@pytest.fixture(scope="session")
def sketchy_root() -> Path:
    """The small real Sketchy sample inside the repository (same layout as the shared one): always there."""
    return SAMPLE


@pytest.fixture(scope="session")
def shared_sketchy_root() -> Path:
    """The big real Sketchy sample beside the checkout, for the tests that need its size. Where it is absent its tests skip, and under CI
    they fail: a green CI run has run every test."""
    if not (SHARED_DATA / "photo").is_dir():
        missing = f"the real Sketchy sample is missing: no {SHARED_DATA / 'photo'} (../shared/data/sketchy-seen100 beside the checkout)"
        if running_in_ci():
            pytest.fail(f"{missing}; under CI every test must run, so provide the data", pytrace=False)
        pytest.skip(missing)
    return SHARED_DATA
