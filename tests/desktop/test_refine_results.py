"""Refining in the app: "More Like This" / "Not This" on chosen results move the search (relevance
feedback on the sketch), a round at a time, and "Undo Refine" takes a round back; keys and the
results' right-click menu. Real window, library and model."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtTest import QTest

from tests.desktop.fixtures import copy_photos
from tests.desktop.test_main_window import CIRCLE, WAIT_MS, draw, index_folder, make_window
from zssbir_desktop.results.actions import FEEDBACK_KEYS


def ranking(window) -> list[int]:
    return [r.id for r in window.results_model.results()]


def choose(window, rows: list[int]) -> None:
    view, model = window.results_pane.results_view, window.results_model
    view.selectionModel().clearSelection()
    for row in rows:
        view.selectionModel().select(model.index(row), QItemSelectionModel.SelectionFlag.Select)


@pytest.mark.slow
def test_more_like_this_not_this_and_undo(qtbot, tmp_path, sketchy_root, small_embedder) -> None:
    window = make_window(qtbot, tmp_path, small_embedder)
    index_folder(qtbot, window, copy_photos(sketchy_root, tmp_path / "photos", per_class=3))
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        draw(qtbot, window, CIRCLE)
    first = ranking(window)
    liked = first[-2:]  # the two last results: "more like this" must lift them
    choose(window, [len(first) - 2, len(first) - 1])
    more, not_this, undo = window.feedback_actions
    assert all(action in window.results_pane.results_view.actions() for action in window.feedback_actions)
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        more.trigger()
    second = ranking(window)
    assert sorted(second) == sorted(first)
    assert sum(second.index(i) for i in liked) < sum(first.index(i) for i in liked)

    choose(window, [0])
    top = second[0]
    with qtbot.waitActive(window):
        window.activateWindow()
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        QTest.keySequence(window, QKeySequence(FEEDBACK_KEYS["not"]))
    assert ranking(window).index(top) > 0 and len(window.session.feedback.rounds) == 2

    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        undo.trigger()
    assert ranking(window) == second
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        QTest.keySequence(window, QKeySequence(FEEDBACK_KEYS["undo"]))
    assert ranking(window) == first and not window.session.feedback

    window.canvas.clear()  # a new sketch starts without feedback
    assert not window.session.feedback


def test_the_refine_keys_are_free_among_the_windows_shortcuts(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    others = [a for a in window.findChildren(QAction) if a not in window.feedback_actions]
    keys = {s.toString() for a in others for s in a.shortcuts()}
    assert len(others) > 20 and "Ctrl+Shift+F" in keys
    assert not {QKeySequence(k).toString() for k in FEEDBACK_KEYS.values()} & keys
