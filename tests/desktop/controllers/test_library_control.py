"""Library control without a window: a real engine, a real library file, real Sketchy photos and
the real small model; what the library panel would show is read from the signals."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from tests.desktop.controllers.conftest import WAIT_MS
from tests.desktop.fixtures import copy_photos
from zssbir_core.api import IndexProgress
from zssbir_desktop.engine import Engine
from zssbir_desktop.library.control import LibraryControl
from zssbir_desktop.settings.preferences import Preferences, PreferencesStore


class Recorder:
    """Every signal of a ``LibraryControl``, in order."""

    def __init__(self, control: LibraryControl) -> None:
        self.folders: list[list[tuple[str, int]]] = []
        self.indexing: list[tuple[bool, str]] = []
        self.errors: list[tuple[str, str]] = []
        self.status: list[str] = []
        self.progress: list[IndexProgress] = []
        self.photos_changed = 0
        control.folders_changed.connect(lambda folders, _skipped: self.folders.append(folders))
        control.indexing_changed.connect(lambda running, text: self.indexing.append((running, text)))
        control.error.connect(lambda text, kind: self.errors.append((text, kind)))
        control.status.connect(lambda text, _ms: self.status.append(text))
        control.progress.connect(self.progress.append)
        control.photos_changed.connect(self._photos_changed)

    def _photos_changed(self) -> None:
        self.photos_changed += 1


def control_for(tmp_path: Path, prefs: Preferences | None = None,
                store: PreferencesStore | None = None) -> tuple[Engine, LibraryControl, Recorder]:
    store = store or PreferencesStore(prefs or Preferences(rescan_on_start=False), QSettings())
    engine = Engine()
    control = LibraryControl(engine, store, tmp_path / "library")
    return engine, control, Recorder(control)


def test_adding_a_folder_indexes_it_with_progress_and_reports_the_end(qtbot, tmp_path, sketchy_root, small_embedder) -> None:
    engine, control, seen = control_for(tmp_path)
    try:
        assert control.open_library(tmp_path / "library")
        engine.set_embedder(small_embedder)
        folder = copy_photos(sketchy_root, tmp_path / "photos", per_class=1)
        with qtbot.waitSignal(engine.indexing_finished, timeout=WAIT_MS):
            control.add_folder(folder)
        assert seen.indexing[0] == (True, "") and seen.indexing[-1] == (False, "Indexing finished: 4 photos.")
        assert seen.status == [f"Added {folder}"]  # the end is the panel's line (indexing_changed)
        assert seen.folders[-1] == [(str(folder), 4)] and seen.photos_changed == 1
        embeds = [p for p in seen.progress if p.phase == "embed"]
        assert embeds and (embeds[-1].done, embeds[-1].total) == (4, 4)
        control.remove_folder(str(folder))
        assert seen.folders[-1] == [] and seen.photos_changed == 2 and not seen.errors
    finally:
        engine.shutdown()


def test_a_rescan_before_the_model_waits_for_it(qtbot, tmp_path, sketchy_root, small_embedder) -> None:
    engine, control, seen = control_for(tmp_path)
    try:
        control.open_library(tmp_path / "library")
        engine.add_folder(copy_photos(sketchy_root, tmp_path / "photos", per_class=1))
        control.start_indexing()
        assert seen.indexing == [(True, "Waiting for the model to load…")] and engine.library.indexing_unfinished
        with qtbot.waitSignal(engine.indexing_finished, timeout=WAIT_MS):
            engine.set_embedder(small_embedder)  # the model arrives: the waiting run starts
        assert not engine.library.indexing_unfinished and engine.library.photo_count() == 4
    finally:
        engine.shutdown()


def test_rescan_on_start_runs_once_when_the_model_is_ready(qtbot, tmp_path, sketchy_root, small_embedder) -> None:
    engine, control, seen = control_for(tmp_path, Preferences(rescan_on_start=True))
    try:
        control.open_library(tmp_path / "library")
        engine.add_folder(copy_photos(sketchy_root, tmp_path / "photos", per_class=1))
        with qtbot.waitSignal(engine.indexing_finished, timeout=WAIT_MS):
            engine.set_embedder(small_embedder)
        control.maybe_start_indexing(startup=True)
        assert not engine.indexing()  # once per session
    finally:
        engine.shutdown()


def test_removing_a_folder_waits_for_indexing_and_cancel_keeps_what_was_done(
    qtbot, tmp_path, sketchy_root, small_embedder
) -> None:
    engine, control, seen = control_for(tmp_path)
    try:
        control.open_library(tmp_path / "library")
        engine.set_embedder(small_embedder)
        folder = copy_photos(sketchy_root, tmp_path / "photos", per_class=10)
        cancelling: list[bool] = []
        control.cancelling.connect(lambda: cancelling.append(True))

        def on_first_embed(event) -> None:
            if event.phase == "embed" and event.done > 0 and not cancelling:
                control.remove_folder(str(folder))
                control.cancel_indexing()

        engine.indexing_progress.connect(on_first_embed)
        with qtbot.waitSignal(engine.indexing_finished, timeout=WAIT_MS) as blocker:
            control.add_folder(folder)
        assert blocker.args == [True] and cancelling == [True]
        assert seen.errors == [("Please wait for indexing to finish (or cancel it) before removing a folder.", "warning")]
        assert seen.indexing[-1] == (False, "Indexing cancelled; the photos done so far are searchable.")
        assert 0 < engine.library.photo_count() < 40 and engine.folders() == [(str(folder), engine.library.photo_count())]
    finally:
        engine.shutdown()


def test_bad_folders_and_libraries_are_readable_messages(tmp_path) -> None:
    engine, control, seen = control_for(tmp_path)
    try:
        control.add_folder(tmp_path)
        assert seen.errors[-1] == ("No photo library is open, so the folder cannot be added.", "error")
        not_a_folder = tmp_path / "file"
        not_a_folder.write_text("x")
        assert not control.open_library(not_a_folder)
        assert "cannot be opened" in seen.errors[-1][0] and control.library_dir == not_a_folder
        assert control.open_library(tmp_path / "library")
        control.add_folder(tmp_path / "does-not-exist")
        assert "not a folder" in seen.errors[-1][0]
    finally:
        engine.shutdown()


def test_an_old_exclude_list_and_unfinished_flag_move_into_the_library(tmp_path) -> None:
    QSettings().setValue("preferences/exclude_patterns", "*.tmp\n*/cache/*")
    QSettings().setValue("library/unfinished", True)
    store = PreferencesStore(Preferences(rescan_on_start=False), QSettings())
    engine, control, _seen = control_for(tmp_path, store=store)
    try:
        control.open_library(tmp_path / "library")
        assert store.current.exclude_patterns == ("*.tmp", "*/cache/*") and engine.library.indexing_unfinished
        assert not QSettings().contains("library/unfinished")
        control.set_exclude_patterns(("*/cache/*",))
        assert engine.library.exclude_patterns() == ["*/cache/*"]
    finally:
        engine.shutdown()
