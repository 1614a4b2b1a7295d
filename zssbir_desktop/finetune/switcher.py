"""“Use this model”: re-embed the library with another model in the background, then switch.

Until the re-embedding has finished, search keeps the current model and index: the library stores
vectors per model and switches its index to the new model only when every photo has its new
vector (``PhotoLibrary.index``), and the app's embedder is swapped only after that. The run uses
its own handle on the library directory, so the library's writer lock keeps the app's ordinary
indexing from running at the same time. Cancel or a failure leaves the current model in use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from zssbir_core.errors import ZssbirError
from zssbir_desktop.workers import Report, Task, TaskRunner


class ModelSwitcher(QObject):
    """Switches ``engine`` (the app's ``Engine``) to a new model once the library is re-embedded.

    ``library_dir`` and ``device`` are callables so the switcher follows the current preferences;
    ``on_switched(spec)`` runs after the engine uses the new model (the window saves the choice).
    """

    progress = Signal(object)  # IndexProgress of the re-embedding
    switched = Signal(str)
    failed = Signal(str)

    def __init__(self, engine: Any, *, library_dir: Callable[[], Path], device: Callable[[], str],
                 on_switched: Callable[[str], None] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.library_dir = library_dir
        self.device = device
        self.on_switched = on_switched
        self.tasks = TaskRunner(1, self)
        self.pending: str | None = None
        self._task: Task | None = None
        self._embedder: Any = None
        self._wait_timer = QTimer(self)
        self._wait_timer.setInterval(200)
        self._wait_timer.timeout.connect(self._start_reembedding)

    def busy(self) -> bool:
        return self.pending is not None

    def use_model(self, spec: str) -> None:
        """Load ``spec``, re-embed the library with it, then make it the model in use."""
        if self.pending is not None:
            self.failed.emit(f"already switching to {self.pending}; wait or cancel first")
            return
        self.pending = spec
        device = self.device()

        def load(_report: Report, _cancel: threading.Event) -> Any:
            from zssbir_core.api import load_model

            return load_model(spec, device=device)

        self._task = self.tasks.start(load, name=f"load {spec}", on_success=self._loaded, on_failure=self._failed)

    def cancel(self) -> None:
        """Stop switching; the current model stays in use."""
        self._wait_timer.stop()
        if self._task is not None:
            self._task.cancel.set()
        if self.pending is not None and self._task is None:
            self._fail("switching the model was cancelled")

    def _loaded(self, embedder: Any) -> None:
        self._embedder = embedder
        if self._task is not None and self._task.cancel.is_set():
            self._fail("switching the model was cancelled")
            return
        self._task = None
        if self.engine.library is None:
            self._switch()
            return
        if self.engine.indexing():
            self.engine.cancel_indexing()
        self._wait_timer.start()
        self._start_reembedding()

    def _start_reembedding(self) -> None:
        if self.engine.indexing():
            return  # the app's own indexing run is stopping; try again shortly
        self._wait_timer.stop()
        embedder, directory = self._embedder, Path(self.library_dir())

        def work(report: Report, cancel: threading.Event) -> bool:
            from zssbir_core.api import open_library

            with open_library(directory) as library:
                for event in library.index(embedder, cancel=cancel):  # the library's own exclude list
                    report(event)
                return not cancel.is_set() and library.model_id == embedder.model_id

        self._task = self.tasks.start(work, name="re-embed the library", on_progress=self.progress.emit,
                                      on_success=self._reembedded, on_failure=self._failed)

    def _reembedded(self, complete: bool) -> None:
        self._task = None
        if complete:
            self._switch()
        else:
            self._fail("switching the model was cancelled; the current model stays in use")

    def _switch(self) -> None:
        spec, embedder = self.pending, self._embedder
        self.pending, self._embedder = None, None
        self.engine.set_embedder(embedder)
        if self.on_switched is not None and spec is not None:
            self.on_switched(spec)
        self.switched.emit(spec or "")

    def _failed(self, error: BaseException) -> None:
        self._task = None
        reason = str(error) if isinstance(error, ZssbirError) else f"{type(error).__name__}: {error}"
        self._fail(f"the new model could not be used: {reason}; the current model stays in use")

    def _fail(self, message: str) -> None:
        self.pending, self._embedder = None, None
        self.failed.emit(message)

    def shutdown(self, timeout_ms: int = 10000) -> None:
        self.cancel()
        self.tasks.wait(timeout_ms)
