"""Background work for the app: plain functions run on thread pools, reporting through signals.

A task is a function ``fn(report, cancel)``: ``report(obj)`` sends progress to the GUI thread and
``cancel`` is a ``threading.Event`` it polls. Errors meant for the user (``ZssbirError``) come
back as they are; anything else is logged with its traceback to the log file and comes back too,
so the window can show it instead of crashing or doing nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from zssbir_core.errors import ZssbirError

log = logging.getLogger("zssbir.desktop")

Report = Callable[[Any], None]
TaskFunction = Callable[[Report, threading.Event], Any]


class TaskSignals(QObject):
    """What a task tells the GUI thread; connected slots run there (queued connections)."""

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()


class Task(QRunnable):
    """One run of a task function on a pool thread, with its own cancel flag."""

    def __init__(self, fn: TaskFunction, name: str) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn
        self.name = name
        self.cancel = threading.Event()
        self.signals = TaskSignals()

    def run(self) -> None:
        try:
            result = self.fn(self.signals.progress.emit, self.cancel)
        except ZssbirError as error:
            log.warning("%s: %s", self.name, error)
            self.signals.failed.emit(error)
        except BaseException as error:  # a worker must never take the app down
            log.exception("unexpected error in background task %r", self.name)
            self.signals.failed.emit(error)
        else:
            self.signals.succeeded.emit(result)
        finally:
            self.signals.finished.emit()


class TaskRunner(QObject):
    """A thread pool that keeps its running tasks alive and can wait for them on shutdown."""

    def __init__(self, threads: int = 1, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._running: set[Task] = set()
        self._ended: list[Task] = []

    def start(
        self,
        fn: TaskFunction,
        *,
        name: str,
        on_progress: Callable[[Any], None] | None = None,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> Task:
        """Queue ``fn``; the callbacks run on the GUI thread."""
        task = Task(fn, name)
        if on_progress is not None:
            task.signals.progress.connect(on_progress)
        if on_success is not None:
            task.signals.succeeded.connect(on_success)
        if on_failure is not None:
            task.signals.failed.connect(on_failure)
        task.signals.finished.connect(lambda: self._finished(task))
        self._running.add(task)
        self.pool.start(task)
        return task

    def _finished(self, task: Task) -> None:
        """``task`` has emitted ``finished`` (queued here), but its pool thread may still be on its
        way out of ``Task.run``: the task is kept until no pool thread is active, so that its
        wrapper is never freed under that thread."""
        self._running.discard(task)
        self._ended.append(task)
        if self.pool.activeThreadCount() == 0:
            self._ended.clear()

    def busy(self) -> bool:
        """True while a task is queued or running."""
        return bool(self._running)

    def cancel_all(self) -> None:
        """Ask every task to stop (they poll their cancel flag)."""
        for task in list(self._running):
            task.cancel.set()

    def wait(self, msecs: int = -1) -> bool:
        """Block until every task has ended; True if they all did in time."""
        return self.pool.waitForDone(msecs)
