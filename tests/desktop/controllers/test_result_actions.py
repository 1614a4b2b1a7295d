"""Result actions without a window: a real results grid over real search results (real library,
index and model), the real clipboard. Opening a photo or the file manager is left out: that would
start the desktop's programs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtGui import QGuiApplication

from tests.desktop.controllers.conftest import WAIT_MS
from zssbir_desktop.results.actions import ResultActions
from zssbir_desktop.results.model import ResultsModel
from zssbir_desktop.results.thumbnails import ThumbnailLoader
from zssbir_desktop.results.view import ResultsView


@pytest.fixture
def view(qtbot, indexed_engine, sketchy_root) -> ResultsView:
    sketch = sorted((sketchy_root / "sketch" / "cat").glob("*.png"))[0]
    # The view owns the loader and the model, as the window does: left to Python, the garbage
    # collector could free them on an indexing thread while the view still points at the model,
    # and the view's deferred deletion then crashed in ~QAbstractItemView.
    view = ResultsView(64)
    qtbot.addWidget(view)
    loader = ThumbnailLoader(indexed_engine.thumbnail_image, parent=view)
    model = ResultsModel(loader, thumbnail_size=64, parent=loader)
    with qtbot.waitSignal(indexed_engine.results_ready, timeout=WAIT_MS) as found:
        indexed_engine.search(sketch, k=6)
    model.set_results(found.args[1])
    view.setModel(model)
    yield view
    loader.wait(5000)


def test_find_similar_asks_for_the_chosen_result_or_says_to_choose_one(qtbot, view) -> None:
    actions = ResultActions(view)
    asked: list[tuple[int, Path | None]] = []
    messages: list[str] = []
    actions.similar_requested.connect(lambda photo_id, path: asked.append((photo_id, path)))
    actions.status.connect(lambda text, _ms: messages.append(text))
    actions.find_similar()
    assert not asked and messages == ["Select a result first."]
    third = view.model().result(2)
    view.setCurrentIndex(view.model().index(2))
    actions.find_similar()
    assert asked == [(third.id, Path(third.path))]
    actions.find_similar(view.model().result(4).id)  # a shown result named by its id
    assert asked[-1] == (view.model().result(4).id, Path(view.model().result(4).path))


def test_copy_paths_copies_every_selected_result(qtbot, view) -> None:
    actions = ResultActions(view)
    assert actions.copy_paths() == [] and not actions.chosen().isValid()
    selection = view.selectionModel()
    for row in (0, 3):
        selection.select(view.model().index(row), QItemSelectionModel.SelectionFlag.Select)
    paths = actions.copy_paths()
    assert paths == [str(view.model().result(0).path), str(view.model().result(3).path)]
    assert QGuiApplication.clipboard().text() == "\n".join(paths)
    assert actions.chosen().row() == 0  # no current result: the first selected one
