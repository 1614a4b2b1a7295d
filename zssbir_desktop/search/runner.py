"""Searches in the background where only the newest query counts.

One search runs at a time; while it runs, a newer query replaces any query still waiting, and a
result that is not for the newest query is dropped. So drawing fast never piles up work, the
canvas never waits for the model, and the results shown always belong to the latest sketch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from zssbir_desktop.workers import TaskRunner

SearchFunction = Callable[[], Any]


class SearchRunner(QObject):
    """Runs search functions one at a time; emits ``results(request_id, value)`` for the newest."""

    results = Signal(int, object)
    failed = Signal(int, object)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = TaskRunner(1, self)
        self.latest = 0
        self._pending: tuple[int, SearchFunction] | None = None
        self._running = False
        self.dropped = 0

    def submit(self, fn: SearchFunction) -> int:
        """Queue a search; returns its request id (higher is newer)."""
        self.latest += 1
        request = (self.latest, fn)
        if self._running:
            self._pending = request
        else:
            self._start(request)
        return self.latest

    def _start(self, request: tuple[int, SearchFunction]) -> None:
        request_id, fn = request
        self._running = True
        self.busy_changed.emit(True)
        self.runner.start(
            lambda _report, _cancel: fn(),
            name=f"search #{request_id}",
            on_success=lambda value: self._done(request_id, value, None),
            on_failure=lambda error: self._done(request_id, None, error),
        )

    def _done(self, request_id: int, value: Any, error: BaseException | None) -> None:
        self._running = False
        if request_id != self.latest:
            self.dropped += 1
        elif error is not None:
            self.failed.emit(request_id, error)
        else:
            self.results.emit(request_id, value)
        pending, self._pending = self._pending, None
        if pending is not None:
            self._start(pending)
        else:
            self.busy_changed.emit(False)

    def wait(self, msecs: int = -1) -> bool:
        """Block until the running search has ended; True if it did in time."""
        return self.runner.wait(msecs)
