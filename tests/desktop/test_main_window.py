"""The app end to end on a real small library: real photos, the real Lite0 model, real SQLite
and hnswlib; strokes drawn with qtbot, searches, find-similar, indexing with progress and cancel."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtGui import QKeySequence, QPixmap
from PySide6.QtTest import QTest

from tests.desktop.fixtures import copy_photos
from zssbir_desktop.engine import Engine
from zssbir_desktop.results.model import PathRole, PhotoIdRole
from zssbir_desktop.settings.preferences import Preferences, load_preferences
from zssbir_desktop.window.main_window import MainWindow

WAIT_MS = 120_000


def make_window(qtbot, tmp_path: Path, embedder=None, prefs: Preferences | None = None) -> MainWindow:
    prefs = prefs or Preferences(model="lite0-imagenet", rescan_on_start=False)
    window = MainWindow(Engine(), prefs, tmp_path / "library", QSettings())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.library.open_library(window.library.library_dir)
    if embedder is not None:
        window.engine.set_embedder(embedder)
    return window


def draw(qtbot, window: MainWindow, strokes: list[list[tuple[float, float]]]) -> None:
    """Draw strokes (page units) on the canvas with the mouse."""
    canvas = window.canvas
    rect = canvas.page_rect()

    def point(x: float, y: float) -> QPoint:
        return QPoint(int(rect.left() + x * rect.width()), int(rect.top() + y * rect.height()))

    for stroke in strokes:
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point(*stroke[0]))
        for x, y in stroke[1:]:
            QTest.mouseMove(canvas, point(x, y))
        QTest.mouseRelease(
            canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point(*stroke[-1])
        )


CIRCLE = [[(0.5 + 0.3 * math.cos(t / 10), 0.5 + 0.3 * math.sin(t / 10)) for t in range(64)]]
STEM = [[(0.5, 0.2), (0.52, 0.1), (0.55, 0.05)]]


def index_folder(qtbot, window: MainWindow, folder: Path) -> list:
    events: list = []
    window.engine.indexing_progress.connect(events.append)
    with qtbot.waitSignal(window.engine.indexing_finished, timeout=WAIT_MS) as blocker:
        window.library.add_folder(folder)
    assert blocker.args == [False]
    return events


@pytest.fixture
def indexed_window(qtbot, tmp_path, sketchy_root, small_embedder) -> MainWindow:
    window = make_window(qtbot, tmp_path, small_embedder)
    index_folder(qtbot, window, copy_photos(sketchy_root, tmp_path / "photos", per_class=3))
    return window


def test_first_run_invites_to_add_a_folder(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    assert window.results_pane.results_stack.currentWidget() is window.results_pane.empty_page
    assert window.results_pane.empty_add_button.isVisible()
    assert window.acceptDrops()


def test_adding_a_folder_indexes_it_with_progress(qtbot, tmp_path, sketchy_root, small_embedder) -> None:
    window = make_window(qtbot, tmp_path, small_embedder)
    folder = copy_photos(sketchy_root, tmp_path / "photos", per_class=3)
    events = index_folder(qtbot, window, folder)
    embeds = [e for e in events if e.phase == "embed"]
    assert embeds and embeds[-1].done == embeds[-1].total == 12
    assert window.library_panel.folder_list.count() == 1
    assert "12 photos" in window.library_panel.folder_list.item(0).text()
    assert not window.library_panel.progress.isVisible()
    assert window.results_pane.results_stack.currentWidget() is window.results_pane.results_view


def test_the_end_of_indexing_is_said_once_and_still_seen_with_the_library_hidden(
    qtbot, tmp_path, sketchy_root, small_embedder
) -> None:
    window = make_window(qtbot, tmp_path, small_embedder)
    index_folder(qtbot, window, copy_photos(sketchy_root, tmp_path / "photos", per_class=1))
    assert window.library_panel.progress_label.text() == "Indexing finished: 4 photos."
    assert window.statusBar().currentMessage() != "Indexing finished: 4 photos."
    window.library_dock.toggleViewAction().trigger()
    assert not window.library_dock.isVisible()
    with qtbot.waitSignal(window.engine.indexing_finished, timeout=WAIT_MS):
        window.window_actions.rescan.trigger()
    assert window.statusBar().currentMessage() == "Indexing finished: 4 photos."


def test_drawing_strokes_searches_and_shows_thumbnails(qtbot, indexed_window) -> None:
    window = indexed_window
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS) as blocker:
        draw(qtbot, window, CIRCLE + STEM)
    assert blocker.args[0] == window.results_model.rowCount() == 12  # k=24 clamps to the 12 photos
    scores = [r.score for r in window.results_model.results()]
    assert scores == sorted(scores, reverse=True)
    first = window.results_model.index(0)
    qtbot.waitUntil(lambda: isinstance(first.data(Qt.ItemDataRole.DecorationRole), QPixmap), timeout=WAIT_MS)
    assert window.results_model.rowCount() > 0 and Path(first.data(PathRole)).is_file()


def test_only_the_newest_query_is_shown(qtbot, indexed_window) -> None:
    window = indexed_window
    shown: list[int] = []
    busy: list[bool] = []
    window.engine.results_ready.connect(lambda request, _results: shown.append(request))
    window.engine.searching.connect(busy.append)
    draw(qtbot, window, CIRCLE)
    window.session.search_now()
    draw(qtbot, window, STEM)
    window.session.search_now()
    newest = window.engine.latest_search()
    qtbot.waitUntil(lambda: newest in shown, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: busy[-1] is False, timeout=WAIT_MS)
    qtbot.wait(100)
    assert shown[-1] == newest and all(request <= newest for request in shown)


def test_undo_redo_shortcuts(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    draw(qtbot, window, CIRCLE + STEM)
    assert len(window.canvas.state().strokes) == 2
    with qtbot.waitActive(window):
        window.activateWindow()
    window.canvas.setFocus()
    QTest.keySequence(window.canvas, QKeySequence("Ctrl+Z"))
    assert len(window.canvas.state().strokes) == 1
    QTest.keySequence(window.canvas, QKeySequence("Ctrl+Shift+Z"))
    assert len(window.canvas.state().strokes) == 2
    QTest.keySequence(window.canvas, QKeySequence("Ctrl+Z"))
    QTest.keySequence(window.canvas, QKeySequence("Ctrl+Y"))
    assert len(window.canvas.state().strokes) == 2


def test_find_similar_ranks_by_the_chosen_photo(qtbot, indexed_window) -> None:
    window = indexed_window
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        draw(qtbot, window, CIRCLE)
    target = window.results_model.index(5)
    window.results_pane.results_view.setCurrentIndex(target)
    photo_id, photo_path = target.data(PhotoIdRole), Path(target.data(PathRole))
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        window.similar_action.trigger()
    library = window.engine.library
    shown = window.results_model.results()
    assert photo_id not in [r.id for r in shown]  # the photo itself is the query, not an answer
    query = library.vector(photo_id)
    expected = max((r.id for r in shown), key=lambda i: float(library.vector(i) @ query))
    assert shown[0].id == expected
    assert window.canvas.query_path() == photo_path


def test_show_more_appends_the_next_page(qtbot, indexed_window) -> None:
    window = indexed_window
    window.results_pane.k_spin.setValue(4)
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        draw(qtbot, window, CIRCLE)
    assert window.results_model.rowCount() == 4 and window.results_pane.more_button.isEnabled()
    first_page = [r.id for r in window.results_model.results()]
    with qtbot.waitSignal(window.results_model.rowsInserted, timeout=WAIT_MS):
        window.results_pane.more_button.click()
    assert window.results_model.rowCount() == 8
    assert [r.id for r in window.results_model.results()[:4]] == first_page


def test_folder_filter_limits_results(qtbot, tmp_path, sketchy_root, small_embedder) -> None:
    window = make_window(qtbot, tmp_path, small_embedder)
    cats = copy_photos(sketchy_root, tmp_path / "cats", per_class=3, classes=("cat",))
    castles = copy_photos(sketchy_root, tmp_path / "castles", per_class=3, classes=("castle",))
    index_folder(qtbot, window, cats)
    index_folder(qtbot, window, castles)
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        draw(qtbot, window, CIRCLE)
    assert window.results_model.rowCount() == 6
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        window.session.set_folder_filter({window.engine.folders()[0][0]})
    assert window.results_model.rowCount() == 3
    assert window.results_pane.folder_button.text() == Path(window.engine.folders()[0][0]).name


def test_cancel_keeps_what_was_done_and_the_next_run_resumes(
    qtbot, tmp_path, shared_sketchy_root, small_embedder
) -> None:
    window = make_window(qtbot, tmp_path, small_embedder)
    folder = copy_photos(shared_sketchy_root, tmp_path / "photos", per_class=25)
    cancelled: list[bool] = []
    window.engine.indexing_finished.connect(cancelled.append)

    def cancel_on_first_embed(event) -> None:
        if event.phase == "embed" and event.done > 0:
            window.library_panel.cancel_button.click()

    window.engine.indexing_progress.connect(cancel_on_first_embed)
    window.library.add_folder(folder)
    qtbot.waitUntil(lambda: bool(cancelled), timeout=WAIT_MS)
    assert cancelled == [True]
    assert "cancelled" in window.library_panel.progress_label.text()
    done = window.engine.library.photo_count()
    assert 0 < done < 100
    window.engine.indexing_progress.disconnect(cancel_on_first_embed)
    with qtbot.waitSignal(window.engine.indexing_finished, timeout=WAIT_MS) as blocker:
        window.library.start_indexing()
    assert blocker.args == [False] and window.engine.library.photo_count() == 100


def test_unreadable_folder_is_reported_in_the_window(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    window.library.add_folder(tmp_path / "does-not-exist")
    assert window.message_bar.isVisible() and "not a folder" in window.message_bar.text()


def test_settings_persist_across_a_restart(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    dialog = window.settings_dialog()
    qtbot.addWidget(dialog)
    dialog.results_spin.setValue(48)
    dialog.thumb_spin.setValue(128)
    dialog.rescan_check.setChecked(False)
    dialog.exclude_edit.setPlainText("*.tmp")
    prefs = dialog.preferences()
    window.apply_preferences(prefs)
    window.close()
    assert load_preferences(QSettings()) == replace(prefs, exclude_patterns=())  # the library keeps those
    again = make_window(qtbot, tmp_path, prefs=load_preferences(QSettings()))
    assert again.results_pane.k_spin.value() == 48 and again.results_model.thumbnail_size == 128
    assert again.preferences.current.exclude_patterns == ("*.tmp",) == tuple(again.engine.library.exclude_patterns())


def test_an_old_qsettings_exclude_list_and_unfinished_flag_move_into_the_library_once(qtbot, tmp_path) -> None:
    QSettings().setValue("preferences/exclude_patterns", "*.tmp\n*/cache/*")
    QSettings().setValue("library/unfinished", True)
    window = make_window(qtbot, tmp_path)
    assert window.engine.library.exclude_patterns() == ["*.tmp", "*/cache/*"]
    assert window.engine.library.indexing_unfinished
    assert QSettings().value("preferences/exclude_patterns") is None and not QSettings().contains("library/unfinished")
    dialog = window.settings_dialog()
    qtbot.addWidget(dialog)
    dialog.exclude_edit.setPlainText("*/cache/*")  # removing a pattern in the app removes it from the library
    window.apply_preferences(dialog.preferences())
    assert window.engine.library.exclude_patterns() == ["*/cache/*"]


def test_model_loads_in_the_background_with_a_visible_state(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.engine.model_ready, timeout=WAIT_MS):
        window.models.load_model()
        assert "Loading model" in window.model_state.model_label.text()
        assert "Loading the model" in window.message_bar.text()
    assert "lite0-imagenet" in window.model_state.model_label.text()
    assert not window.message_bar.isVisible()


def test_missing_checkpoint_is_a_readable_message(qtbot, tmp_path) -> None:
    window = make_window(
        qtbot, tmp_path, prefs=Preferences(model=str(tmp_path / "gone"), rescan_on_start=False)
    )
    with qtbot.waitSignal(window.engine.model_failed, timeout=WAIT_MS):
        window.models.load_model()
    assert "could not be loaded" in window.message_bar.text()
    assert "Use the default model" in window.message_bar.button_texts()


def test_a_new_model_reindexes_and_search_waits_for_it(qtbot, indexed_window) -> None:
    from zssbir_core.models import load_model

    window = indexed_window
    other = load_model("lite0-imagenet", device="cpu", image_size=48)
    with qtbot.waitSignal(window.engine.indexing_finished, timeout=WAIT_MS):
        window.engine.set_embedder(other)  # as after choosing another model in the settings
        assert window.engine.indexing()
        draw(qtbot, window, CIRCLE)
        window.session.search_now()
        assert "new model" in window.results_pane.result_count_label.text()
    assert window.engine.library.model_id == other.model_id
    qtbot.waitUntil(lambda: window.results_model.rowCount() == 12, timeout=WAIT_MS)
    assert not window.message_bar.isVisible()


def test_without_a_chosen_model_the_library_keeps_its_own(qtbot, tmp_path) -> None:
    """A library indexed with another built-in model opens with that model, offline, no banner;
    a new library gets the default model."""
    from zssbir_core.api import DEFAULT_MODEL, ModelRequest

    window = make_window(qtbot, tmp_path, prefs=Preferences(rescan_on_start=False))
    assert window.models.model_spec() == ModelRequest(DEFAULT_MODEL, None)
    window.engine.library.store.set_meta("model_id", "lite1-imagenet@96")
    assert window.models.model_spec() == ModelRequest("lite1-imagenet", 96)
    with qtbot.waitSignal(window.engine.model_ready, timeout=WAIT_MS):
        window.models.load_model()
    assert window.engine.embedder.model_id == "lite1-imagenet@96"
    assert not window.message_bar.isVisible()
    window.preferences.current.model = "lite0-imagenet"  # a model the user chose wins
    assert window.models.model_spec() == ModelRequest("lite0-imagenet", None)
