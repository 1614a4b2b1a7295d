"""Library control: open the library, add, remove and re-scan folders, cancel indexing; when to
index without being asked (a new model, an unfinished run, re-scan on start); progress and the
folder list for the library panel."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Signal

from zssbir_core.errors import ZssbirError
from zssbir_desktop.engine import Engine
from zssbir_desktop.error_log import describe_error
from zssbir_desktop.settings.preferences import Preferences, PreferencesStore, take_legacy_exclude_patterns

if TYPE_CHECKING:
    from zssbir_core.api import IndexProgress

log = logging.getLogger("zssbir.desktop")

COUNT_REFRESH_S = 1.0
"""How often the folders' photo counts are re-read while indexing embeds photos."""


class LibraryControl(QObject):
    """Drives the engine's library for the window and reports what the library panel shows."""

    folders_changed = Signal(object, int)  # [(folder, photo count)], number of skipped files
    indexing_changed = Signal(bool, str)  # running, the line shown below the progress bar
    progress = Signal(object)  # IndexProgress
    cancelling = Signal()
    photos_changed = Signal()  # a folder went or a run ended: search again
    error = Signal(str, str)  # message, kind
    status = Signal(str, int)  # status bar message, milliseconds

    def __init__(self, engine: Engine, prefs: PreferencesStore, library_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self._prefs = prefs
        self.settings: QSettings = prefs.settings
        self.library_dir = Path(library_dir)
        self._scanned_once = False
        self._last_count_refresh = 0.0
        engine.library_changed.connect(self.refresh)
        engine.indexing_started.connect(lambda: self.indexing_changed.emit(True, ""))
        engine.indexing_progress.connect(self._progress)
        engine.indexing_finished.connect(self._finished)
        engine.indexing_failed.connect(self._failed)
        engine.model_ready.connect(lambda _embedder: self.maybe_start_indexing(startup=True))
        prefs.changed.connect(self._prefs_changed)

    def _prefs_changed(self, old: Preferences, new: Preferences) -> None:
        if new.exclude_patterns != old.exclude_patterns:
            self.set_exclude_patterns(new.exclude_patterns)
        if new.library_dir != old.library_dir:
            from zssbir_desktop.settings.preferences import library_directory

            self.open_library(library_directory(new))

    def open_library(self, directory: Path) -> bool:
        """Open the library at ``directory``; a failure is reported through ``error``."""
        self.library_dir = Path(directory)
        try:
            self.engine.open_library(self.library_dir)
        except ZssbirError as error:
            self.error.emit(f"The photo library at {directory} cannot be opened: {error}", "error")
            return False
        except OSError as error:
            self.error.emit(f"The photo library at {directory} cannot be opened: {error.strerror or error}", "error")
            return False
        self._adopt_legacy_state()
        self.maybe_start_indexing(startup=True)
        return True

    def _adopt_legacy_state(self) -> None:
        """Move the exclude list and the unfinished-run flag of older versions from QSettings into
        the library (once), and report the library's exclude list."""
        library = self.engine.library
        assert library is not None
        legacy = take_legacy_exclude_patterns(self.settings)
        if legacy:
            library.add_exclude_patterns(legacy)
        if self.settings.contains("library/unfinished"):
            if str(self.settings.value("library/unfinished")).lower() == "true":
                library.request_indexing()
            self.settings.remove("library/unfinished")
        self._prefs.update(exclude_patterns=tuple(library.exclude_patterns()))  # the dialog edits the library's list

    def set_exclude_patterns(self, patterns: tuple[str, ...]) -> None:
        """Give the open library a new exclude list."""
        if self.engine.library is None or tuple(self.engine.library.exclude_patterns()) == tuple(patterns):
            return
        try:
            self.engine.library.set_exclude_patterns(patterns)
        except ZssbirError as error:
            self.error.emit(f"The exclude patterns could not be saved: {error}", "error")

    def refresh(self) -> None:
        """Re-read folders, counts and skipped files from the library."""
        try:
            folders = self.engine.folders()
            skipped = self.engine.skipped()
        except ZssbirError as error:
            self.error.emit(str(error), "error")
            return
        self.folders_changed.emit(folders, len(skipped))

    def add_folder(self, folder: Path) -> None:
        """Add ``folder`` to the library and index it in the background."""
        if self.engine.library is None:
            self.error.emit("No photo library is open, so the folder cannot be added.", "error")
            return
        try:
            self.engine.add_folder(folder)
        except ZssbirError as error:
            self.error.emit(str(error), "error")
            return
        self.status.emit(f"Added {folder}", 5000)
        self.start_indexing()

    def remove_folder(self, folder: str) -> None:
        """Stop searching ``folder`` (not while indexing runs)."""
        if self.engine.indexing():
            self.error.emit("Please wait for indexing to finish (or cancel it) before removing a folder.", "warning")
            return
        try:
            self.engine.remove_folder(Path(folder))
        except ZssbirError as error:
            self.error.emit(str(error), "error")
            return
        self.photos_changed.emit()

    def start_indexing(self) -> None:
        """Index the library now, or as soon as the model is ready."""
        if self.engine.library is None:
            return
        if self.engine.embedder is None:
            self.engine.library.request_indexing()  # remembered by the library until a run finishes
            self.indexing_changed.emit(True, "Waiting for the model to load…")
            return
        self.engine.start_indexing()

    def maybe_start_indexing(self, startup: bool) -> None:
        """Index without being asked when the library was indexed with another model, a run was
        left unfinished, or (once, at start-up) the preferences ask for a re-scan."""
        engine = self.engine
        if engine.library is None or engine.embedder is None or engine.indexing() or not engine.folders():
            return
        rescan = startup and self._prefs.current.rescan_on_start and not self._scanned_once
        if engine.indexed_with_other_model() or engine.library.indexing_unfinished or rescan:
            self._scanned_once = True
            engine.start_indexing()

    def cancel_indexing(self) -> None:
        """Stop the indexing run (what is done is kept)."""
        self.cancelling.emit()
        self.engine.cancel_indexing()

    def _progress(self, event: IndexProgress) -> None:
        now = time.monotonic()
        if event.phase == "embed" and now - self._last_count_refresh > COUNT_REFRESH_S:
            self._last_count_refresh = now  # photo counts grow while indexing runs
            self.refresh()
        self.progress.emit(event)

    def _finished(self, cancelled: bool) -> None:
        log.info("indexing %s", "cancelled" if cancelled else "finished")
        count = sum(n for _p, n in self.engine.folders())
        message = "Indexing cancelled; the photos done so far are searchable." if cancelled else f"Indexing finished: {count} photos."
        self.indexing_changed.emit(False, message)
        self.photos_changed.emit()

    def _failed(self, error: BaseException) -> None:
        self.indexing_changed.emit(False, "Indexing stopped by an error.")
        self.error.emit(f"Indexing stopped: {describe_error(error)}", "error")
