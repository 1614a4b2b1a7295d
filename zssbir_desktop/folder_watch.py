"""Folders that stay current while the app runs: photo changes in the open library's folders start an
indexing run within seconds (the core's debounced watcher, ``zssbir_core.api.watch_library``)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal


class FolderWatch(QObject):
    """Follows the engine's open library and its folders; a change on disk indexes, and a change
    that arrives while a run is going on (or before the model is ready) indexes right after it."""

    _changed = Signal()  # emitted on the watcher's thread, delivered on this object's thread

    def __init__(self, engine: Any, parent: QObject | None = None) -> None:
        """``engine``: the app's ``Engine`` (its library, folders, indexing and their signals)."""
        super().__init__(parent)
        self.engine = engine
        self.watcher: Any = None
        self._library: Any = None
        self._pending = False
        self._changed.connect(self._index, Qt.ConnectionType.QueuedConnection)
        engine.library_changed.connect(self.follow)
        engine.indexing_finished.connect(lambda cancelled: self._index() if self._pending and not cancelled else None)
        engine.model_ready.connect(lambda _embedder: self._index() if self._pending else None)

    def follow(self) -> None:
        """Watch the open library's folders (called whenever the library or its folders change)."""
        library = self.engine.library
        if library is not self._library:
            self.stop()
        if library is None:
            return
        if self.watcher is None:
            from zssbir_core.api import watch_library

            self._library, self.watcher = library, watch_library(library, self._changed.emit)
        else:
            self.watcher.set_folders([folder for folder, _count in self.engine.folders()])

    def stop(self) -> None:
        """Stop watching (before the library closes)."""
        if self.watcher is not None:
            self.watcher.stop()
        self.watcher = self._library = None
        self._pending = False

    def _index(self) -> None:
        self._pending = not self.engine.start_indexing()
