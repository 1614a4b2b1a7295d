"""Folders that stay current while the app runs: photo changes in the open library's folders start an
indexing run within seconds (the core's debounced watcher, ``zssbir_core.api.watch_library``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal

if TYPE_CHECKING:
    from zssbir_core.api import FolderWatcher, PhotoLibrary


class FolderWatch(QObject):
    """Watches the folders of the library it follows; a change on disk calls ``start_indexing``, and
    a change that arrives while no run can start (one is going on, no model yet) waits for ``retry``."""

    _changed = Signal()  # emitted on the watcher's thread, delivered on this object's thread

    def __init__(self, start_indexing: Callable[[], bool], parent: QObject | None = None) -> None:
        """``start_indexing()``: start an indexing run, False when none could start now."""
        super().__init__(parent)
        self._start_indexing = start_indexing
        self._watcher: FolderWatcher | None = None
        self._library: PhotoLibrary | None = None
        self._pending = False
        self._changed.connect(self._index, Qt.ConnectionType.QueuedConnection)

    def follow(self, library: PhotoLibrary | None) -> None:
        """Watch ``library``'s folders (called whenever the library or its folders change)."""
        if library is not self._library:
            self.stop()
        if library is None:
            return
        if self._watcher is None:
            from zssbir_core.api import watch_library

            self._library, self._watcher = library, watch_library(library, self._changed.emit)
        else:
            self._watcher.set_folders([folder.path for folder in library.folders()])

    def retry(self) -> None:
        """Index now if a change came while no run could start."""
        if self._pending:
            self._index()

    def stop(self) -> None:
        """Stop watching (before the library closes)."""
        if self._watcher is not None:
            self._watcher.stop()
        self._watcher = self._library = None
        self._pending = False

    def _index(self) -> None:
        self._pending = not self._start_indexing()
