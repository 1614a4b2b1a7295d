"""The results pane in a real 1,280 px window: the grid fills its width with as many columns as
fit, and the preview below shows only while a result is hovered or selected (or never, when the
View menu switches it off). Real widgets, real photos of the Sketchy sample."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings
from PySide6.QtTest import QTest

from zssbir_core.api import SearchResult
from zssbir_desktop.engine import Engine
from zssbir_desktop.settings.preferences import Preferences
from zssbir_desktop.window.main_window import MainWindow


@pytest.fixture
def window(qtbot, tmp_path: Path, sketchy_root: Path) -> MainWindow:
    """A 1,280 x 800 window showing 24 real photos as results (no library: thumbnails come from the files)."""
    window = MainWindow(Engine(), Preferences(rescan_on_start=False), tmp_path / "library", QSettings())
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.results_pane.set_has_folders(True)
    photos = sorted((sketchy_root / "photo").glob("*/*.jpg"))[:24]
    window.results_model.set_results([SearchResult(i + 1, path, 0.9 - i / 100) for i, path in enumerate(photos)])
    qtbot.wait(50)
    yield window
    window.thumbnails.wait(10_000)


def first_row(window: MainWindow) -> list[int]:
    view, model = window.results_pane.results_view, window.results_model
    rects = [view.visualRect(model.index(row)) for row in range(model.rowCount())]
    top = min(r.top() for r in rects)
    return sorted(r.left() for r in rects if r.top() == top)


def test_a_1280_px_window_shows_more_than_two_columns_filling_the_width(window: MainWindow) -> None:
    view = window.results_pane.results_view
    lefts = first_row(window)
    assert len(lefts) == view.columns() > 2
    cell = view.gridSize().width()
    assert all(b - a == cell for a, b in zip(lefts, lefts[1:]))  # evenly spread
    assert view.viewport().width() - (lefts[-1] + cell) < cell // 2, "no room left for another column"
    for width in range(1280, 1700, 20):  # every width: the columns counted are the columns laid out
        window.resize(width, 800)
        QTest.qWait(20)
        assert len(first_row(window)) == view.columns() > 2, width
    assert len(first_row(window)) > len(lefts), "a wider window shows more columns"


def test_the_preview_shows_only_while_a_result_is_hovered_or_selected(qtbot, window: MainWindow) -> None:
    pane, view, model = window.results_pane, window.results_pane.results_view, window.results_model
    assert not pane.preview.isVisible() and pane.sizes()[1] == 0, "nothing chosen: the grid has the whole pane"
    view.setCurrentIndex(model.index(2))
    assert pane.preview.isVisible() and Path(model.result(2).path).name in pane.preview.details.text()
    view.clearSelection()
    assert not pane.preview.isVisible()

    rect = view.visualRect(model.index(1))
    QTest.mouseMove(view.viewport(), rect.center())
    qtbot.waitUntil(pane.preview.isVisible, timeout=5_000)
    assert Path(model.result(1).path).name in pane.preview.details.text()
    QTest.mouseMove(pane.result_count_label, QPoint(5, 5))  # the mouse leaves the grid
    qtbot.waitUntil(lambda: not pane.preview.isVisible(), timeout=5_000)


def test_the_preview_can_be_switched_off_and_stays_off(qtbot, window: MainWindow, tmp_path: Path) -> None:
    pane, view, model = window.results_pane, window.results_pane.results_view, window.results_model
    window.window_actions.preview.trigger()
    view.setCurrentIndex(model.index(0))
    assert not window.window_actions.preview.isChecked() and not pane.preview.isVisible()
    again = MainWindow(Engine(), Preferences(rescan_on_start=False), tmp_path / "library", QSettings())
    qtbot.addWidget(again)
    assert not again.window_actions.preview.isChecked(), "remembered"
    window.window_actions.preview.trigger()
    assert pane.preview.isVisible()
