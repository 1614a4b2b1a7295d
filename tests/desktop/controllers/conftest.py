"""A real engine for the controller tests: a real library in a tmp folder with the real Lite0 model
at 64 px, and (``indexed_engine``) a few real Sketchy photos indexed in it; no window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desktop.fixtures import copy_photos
from zssbir_desktop.engine import Engine

WAIT_MS = 120_000


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine with an empty library open and no model yet; shut down after the test."""
    engine = Engine()
    engine.open_library(tmp_path / "library")
    yield engine
    engine.shutdown()


def index_folders(qtbot, engine: Engine, *folders: Path) -> None:
    """Watch ``folders`` and index them with the engine's model."""
    for folder in folders:
        engine.add_folder(folder)
    with qtbot.waitSignal(engine.indexing_finished, timeout=WAIT_MS):
        assert engine.start_indexing()


@pytest.fixture
def indexed_engine(qtbot, engine: Engine, tmp_path: Path, sketchy_root: Path, small_embedder) -> Engine:
    """Two folders (3 cats, 3 castles) indexed with the small model."""
    engine.set_embedder(small_embedder)
    index_folders(qtbot, engine,
                  copy_photos(sketchy_root, tmp_path / "cats", per_class=3, classes=("cat",)),
                  copy_photos(sketchy_root, tmp_path / "castles", per_class=3, classes=("castle",)))
    return engine
