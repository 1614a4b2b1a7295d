"""The results model passes Qt's model tester with real search results, also while it grows."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap

from tests.desktop.fixtures import copy_photos
from zssbir_core.library import PhotoLibrary
from zssbir_core.search import SketchSearcher
from zssbir_desktop.results.model import PathRole, ResultsModel, ScoreRole
from zssbir_desktop.results.thumbnails import ThumbnailLoader


def test_results_model_with_qtmodeltester(
    qtbot, qtmodeltester, tmp_path, sketchy_root, small_embedder
) -> None:
    photos = copy_photos(sketchy_root, tmp_path / "photos", per_class=2)
    with PhotoLibrary.open(tmp_path / "library") as library:
        library.add_folder(photos)
        for _event in library.index(small_embedder):
            pass
        sketch = sorted((sketchy_root / "sketch" / "cat").glob("*.png"))[0]
        searcher = SketchSearcher(library, small_embedder)
        loader = ThumbnailLoader()
        model = ResultsModel(loader, thumbnail_size=96)
        qtmodeltester.check(model)
        model.set_results(searcher.search(sketch, k=3))
        qtmodeltester.check(model)
        model.set_results(searcher.search(sketch, k=6))  # "show more": rows appended
        qtmodeltester.check(model)
        assert model.rowCount() == 6
        index = model.index(0)
        assert Path(index.data(PathRole)).is_file() and 0 < index.data(ScoreRole) <= 1
        qtbot.waitUntil(
            lambda: isinstance(index.data(Qt.ItemDataRole.DecorationRole), QPixmap), timeout=30_000
        )
        assert max(index.data(Qt.ItemDataRole.DecorationRole).size().toTuple()) <= 96
        model.clear()
        qtmodeltester.check(model)
        loader.wait(10_000)


def test_unreadable_photo_gets_a_placeholder(qtbot, tmp_path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    loader = ThumbnailLoader()
    with qtbot.waitSignal(loader.ready, timeout=10_000):
        assert loader.pixmap(("broken", 96), broken, 96) is None
    assert ("broken", 96) in loader.broken
    assert loader.pixmap(("broken", 96), broken, 96) is None  # not retried over and over
