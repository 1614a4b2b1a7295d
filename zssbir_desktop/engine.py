"""The app's link to ``zssbir_core``: one library, one model, and the background work on them.

Everything here runs core functions on worker threads and reports back through signals on the
GUI thread; nothing here computes anything itself. Torch and the model code are imported inside
the workers, so the window can appear before they are loaded. The library, the model and the
searcher are the engine's own: controllers ask the engine, they never reach past it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image
from PySide6.QtCore import QObject, Signal

from zssbir_desktop.library.folder_watch import FolderWatch
from zssbir_desktop.search.runner import SearchRunner
from zssbir_desktop.workers import Report, Task, TaskRunner

if TYPE_CHECKING:
    from zssbir_core.api import Embedder, Feedback, IndexProgress, PhotoLibrary, SearchResult, SketchSearcher

log = logging.getLogger("zssbir.desktop")

INDEX_BATCH_SIZE = 16
"""Photos embedded per step while indexing in the app: small enough that the progress bar moves
and Cancel answers within a few seconds even with the largest built-in model on a CPU."""


@dataclass(frozen=True)
class ModelSwitch:
    """A switch to another model in progress: its spec, then (once loaded) the model itself."""

    spec: str
    embedder: Embedder | None = None


class Engine(QObject):
    """Holds the open ``PhotoLibrary`` and the loaded ``Embedder``; runs indexing, model switches
    and searches. Signals carry the core's own types (``Embedder``, ``IndexProgress``,
    ``list[SearchResult]``, the error raised)."""

    model_loading = Signal(str)  # spec
    model_ready = Signal(object)  # Embedder
    model_failed = Signal(object)  # BaseException
    library_changed = Signal()
    indexing_started = Signal()
    indexing_progress = Signal(object)  # IndexProgress
    indexing_finished = Signal(bool)  # cancelled
    indexing_failed = Signal(object)  # BaseException
    results_ready = Signal(int, object)  # request id, list[SearchResult]
    search_failed = Signal(object)  # BaseException
    searching = Signal(bool)  # a search is running
    download_progress = Signal(int, int)  # bytes done, total
    switch_progress = Signal(object)  # IndexProgress of the re-embedding for a new model
    model_switched = Signal(str)  # spec now in use
    switch_failed = Signal(str)  # why the current model stays

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._library: PhotoLibrary | None = None
        self._embedder: Embedder | None = None
        self._spec: str | None = None
        self._searcher: SketchSearcher | None = None
        self._model_runner = TaskRunner(1, self)
        self._index_runner = TaskRunner(1, self)
        self._searches = SearchRunner(self)
        self._searches.results.connect(self.results_ready)
        self._searches.failed.connect(lambda _request, error: self.search_failed.emit(error))
        self._searches.busy_changed.connect(self.searching)
        self._folder_watch = FolderWatch(self.start_indexing, self)  # photos changed on disk are indexed within seconds
        self.library_changed.connect(lambda: self._folder_watch.follow(self._library))
        self.indexing_finished.connect(lambda cancelled: None if cancelled else self._folder_watch.retry())
        self.model_ready.connect(lambda _embedder: self._folder_watch.retry())
        self._index_task: Task | None = None
        self._download_task: Task | None = None
        self._switch: ModelSwitch | None = None
        self._switch_task: Task | None = None

    # -- what the engine holds -----------------------------------------------------------------

    @property
    def library(self) -> PhotoLibrary | None:
        """The open library (None when none is open): read it, the engine runs the work on it."""
        return self._library

    @property
    def embedder(self) -> Embedder | None:
        """The model in use (None before one has loaded)."""
        return self._embedder

    def model_spec(self) -> str | None:
        """The spec the model in use was loaded from (None: none, or one handed over as it is)."""
        return self._spec

    def latest_search(self) -> int:
        """The request id of the newest search (the only one whose results are shown)."""
        return self._searches.latest

    def indexed_with_other_model(self) -> bool:
        """True when the library's vectors come from another model than the one in use (they are
        re-embedded before search uses the new one)."""
        library, embedder = self._library, self._embedder
        return library is not None and embedder is not None and library.model_id not in (None, embedder.model_id)

    # -- library -------------------------------------------------------------------------------

    def open_library(self, directory: Path) -> None:
        """Open (or create) the library at ``directory``; raises ``LibraryError`` with a message."""
        from zssbir_core.api import open_library

        self.close_library()
        self._library = open_library(directory)
        self._make_searcher()
        self.library_changed.emit()

    def close_library(self) -> None:
        """Stop indexing and close the library (safe to call twice)."""
        self._folder_watch.stop()
        self.cancel_switch()
        self.cancel_indexing()
        self._index_runner.wait()
        self._index_task = None
        if self._library is not None:
            self._library.close()
            self._library = None
            self._searcher = None

    def folders(self) -> list[tuple[str, int]]:
        """(path, photo count) of each watched folder."""
        if self._library is None:
            return []
        return [(str(f.path), int(f.photo_count)) for f in self._library.folders()]

    def skipped(self) -> list[tuple[str, str]]:
        """(path, reason) of each file the last indexing runs could not read."""
        if self._library is None:
            return []
        from zssbir_core.paths import display_path

        return [(display_path(s.path), str(s.reason)) for s in self._library.skipped()]

    def thumbnail_image(self, path: Path, size: int, photo_id: int | None = None) -> Image.Image:
        """A thumbnail for the results grid (called on a pool thread): the library's cached one
        when it is big enough, else decoded from the photo itself."""
        from zssbir_core.api import THUMBNAIL_SIZE, open_image
        from zssbir_desktop.results.thumbnails import file_thumbnail

        library = self._library
        if library is None or photo_id is None or size > THUMBNAIL_SIZE:
            return file_thumbnail(path, size)
        image = open_image(library.thumbnail(photo_id))
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        return image

    def add_folder(self, path: Path) -> None:
        """Watch ``path`` (raises ``LibraryError`` for a missing or unreadable folder)."""
        self._open_library().add_folder(Path(path))
        self.library_changed.emit()

    def remove_folder(self, path: Path) -> None:
        """Stop watching ``path`` and drop its photos from the index."""
        self._open_library().remove_folder(Path(path))
        self.library_changed.emit()

    def _open_library(self) -> PhotoLibrary:
        if self._library is None:
            from zssbir_core.errors import LibraryError

            raise LibraryError("no library is open")
        return self._library

    # -- model ---------------------------------------------------------------------------------

    def load_model(
        self, spec: str, device: str = "auto", weights: str | None = None, image_size: int | None = None
    ) -> None:
        """Load a model in the background; ``model_ready`` or ``model_failed`` follows. A model
        whose weights are not downloaded yet fails with ``WeightsUnavailableError`` (the window
        then offers ``download_weights``)."""
        self.model_loading.emit(str(spec))

        def work(_report: Report, _cancel: threading.Event) -> Embedder:
            from zssbir_core.api import load_model, needs_download
            from zssbir_core.errors import WeightsUnavailableError

            if needs_download(spec, weights):
                raise WeightsUnavailableError(f"the weights of {spec} have not been downloaded yet")
            return load_model(spec, device=device, weights=weights or None, image_size=image_size)

        def loaded(embedder: Embedder) -> None:
            self._set_embedder(embedder, str(spec))

        self._model_runner.start(work, name=f"load model {spec}", on_success=loaded, on_failure=self.model_failed.emit)

    def set_embedder(self, embedder: Embedder) -> None:
        """Use an already loaded model (tests and scripts hold one)."""
        self._set_embedder(embedder, None)

    def _set_embedder(self, embedder: Embedder, spec: str | None) -> None:
        self._embedder, self._spec = embedder, spec
        self._make_searcher()
        self.model_ready.emit(embedder)

    def _make_searcher(self) -> None:
        from zssbir_core.api import make_searcher

        self._searcher = (
            make_searcher(self._library, self._embedder)
            if self._library is not None and self._embedder is not None
            else None
        )

    def download_weights(
        self,
        spec: str,
        url: str | None = None,
        *,
        on_success: Callable[[Path | None], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> Task:
        """Download the weights of ``spec`` with progress; cancel with ``cancel_download``.

        The callbacks are connected before the task starts: a download that fails at once (no
        network) must still be reported."""

        def work(report: Report, cancel: threading.Event) -> Path | None:
            from zssbir_core.api import ensure_weights

            return ensure_weights(spec, progress=lambda done, total: report((done, total)), cancel=cancel, url=url)

        def progress(pair: tuple[int, int]) -> None:
            self.download_progress.emit(*pair)

        task = self._model_runner.start(work, name=f"download the weights of {spec}", on_progress=progress,
                                        on_success=on_success, on_failure=on_failure)
        self._download_task = task
        return task

    def cancel_download(self) -> None:
        """Stop a running weights download (nothing is left in the cache)."""
        if self._download_task is not None:
            self._download_task.cancel.set()

    # -- indexing ------------------------------------------------------------------------------

    def indexing(self) -> bool:
        """True while an indexing run (or the re-embedding of a model switch) is going on."""
        return self._index_task is not None

    def start_indexing(self) -> bool:
        """Scan the watched folders and embed what is new or changed; False if it cannot start
        now (no model or library yet, or a run is already going)."""
        if self._library is None or self._embedder is None or self._index_task is not None:
            return False
        self._index_task = self._run_index(self._library, self._embedder, "indexing", self.indexing_progress.emit,
                                           self._indexing_done, self._indexing_error)
        self.indexing_started.emit()
        return True

    def _run_index(self, library: PhotoLibrary, embedder: Embedder, name: str,
                   progress: Callable[[IndexProgress], None], done: Callable[[bool], None],
                   failed: Callable[[BaseException], None]) -> Task:
        """Index ``library`` with ``embedder`` on the index thread; ``done(cancelled)`` follows."""

        def work(report: Report, cancel: threading.Event) -> bool:
            events: Iterator[IndexProgress] = library.index(embedder, cancel=cancel, batch_size=INDEX_BATCH_SIZE)
            for event in events:
                report(event)
            return cancel.is_set()

        return self._index_runner.start(work, name=name, on_progress=progress, on_success=done, on_failure=failed)

    def cancel_indexing(self) -> None:
        """Ask the indexing run to stop; what was done so far is kept."""
        if self._index_task is not None and self._index_task is not self._switch_task:
            self._index_task.cancel.set()

    def _indexing_done(self, cancelled: bool) -> None:
        self._index_task = None
        self.library_changed.emit()
        self.indexing_finished.emit(bool(cancelled))
        self._reembed_if_waiting()

    def _indexing_error(self, error: BaseException) -> None:
        self._index_task = None
        self.library_changed.emit()
        self.indexing_failed.emit(error)
        self._reembed_if_waiting()

    # -- switching models ------------------------------------------------------------------------

    def switching_to(self) -> str | None:
        """The spec of the model being switched to (None when no switch runs)."""
        return self._switch.spec if self._switch is not None else None

    def switch_model(self, spec: str, device: str = "auto") -> None:
        """Load ``spec``, re-embed every photo of the library with it while search keeps the
        current model, then use it: ``model_switched`` or ``switch_failed`` follows. A running
        indexing run is stopped first (what it did is kept)."""
        if self._switch is not None:
            self.switch_failed.emit(f"already switching to {self._switch.spec}; wait or cancel first")
            return
        self._switch = ModelSwitch(spec)

        def load(_report: Report, _cancel: threading.Event) -> Embedder:
            from zssbir_core.api import load_model

            return load_model(spec, device=device)

        self._switch_task = self._model_runner.start(load, name=f"load {spec}", on_success=self._switch_loaded,
                                                     on_failure=self._switch_error)

    def cancel_switch(self) -> None:
        """Stop switching; the current model stays in use."""
        if self._switch is None:
            return
        if self._switch_task is not None:
            self._switch_task.cancel.set()
        else:  # loaded, waiting for the indexing run to stop
            self._end_switch("switching the model was cancelled")

    def _switch_loaded(self, embedder: Embedder) -> None:
        task, self._switch_task = self._switch_task, None
        if self._switch is None or (task is not None and task.cancel.is_set()):
            self._end_switch("switching the model was cancelled")
            return
        self._switch = ModelSwitch(self._switch.spec, embedder)
        if self._library is None:
            self._finish_switch()
        elif self._index_task is not None:
            self._index_task.cancel.set()  # the re-embedding starts when this run has stopped
        else:
            self._reembed_if_waiting()

    def _reembed_if_waiting(self) -> None:
        switch, library = self._switch, self._library
        if switch is None or switch.embedder is None or self._switch_task is not None or self._index_task is not None:
            return
        if library is None:
            self._finish_switch()
            return
        embedder = switch.embedder

        def done(cancelled: bool) -> None:
            self._index_task = self._switch_task = None
            if not cancelled and library.model_id == embedder.model_id:
                self._finish_switch()
            else:
                self._end_switch("switching the model was cancelled; the current model stays in use")

        def failed(error: BaseException) -> None:
            self._index_task = self._switch_task = None
            self._switch_error(error)

        self._index_task = self._switch_task = self._run_index(
            library, embedder, "re-embed the library", self.switch_progress.emit, done, failed)

    def _finish_switch(self) -> None:
        switch, self._switch = self._switch, None
        if switch is None or switch.embedder is None:
            return
        self._set_embedder(switch.embedder, switch.spec)
        self.model_switched.emit(switch.spec)

    def _switch_error(self, error: BaseException) -> None:
        from zssbir_core.errors import ZssbirError

        self._switch_task = None
        reason = str(error) if isinstance(error, ZssbirError) else f"{type(error).__name__}: {error}"
        self._end_switch(f"the new model could not be used: {reason}; the current model stays in use")

    def _end_switch(self, message: str) -> None:
        self._switch = None
        self.switch_failed.emit(message)

    # -- search --------------------------------------------------------------------------------

    def can_search(self) -> bool:
        """True when a library and a model are there to search with."""
        return self._searcher is not None

    def search(self, query: Image.Image | Path, k: int, folders: Sequence[str] | None = None,
               feedback: Feedback | None = None) -> int | None:
        """Search with a sketch or picture (moved by ``feedback``, "more like this" / "not this");
        the newest request's results arrive in ``results_ready``."""
        searcher = self._searcher
        if searcher is None:
            return None
        chosen = [Path(f) for f in folders] if folders else None

        def run() -> list[SearchResult]:
            return searcher.search(query, k=k, folders=chosen, feedback=feedback)

        return self._searches.submit(run)

    def similar(self, photo_id: int, k: int, folders: Sequence[str] | None = None) -> int | None:
        """Search with a photo of the library as the query."""
        searcher = self._searcher
        if searcher is None:
            return None
        chosen = [Path(f) for f in folders] if folders else None

        def run() -> list[SearchResult]:
            return searcher.similar(photo_id, k=k, folders=chosen)

        return self._searches.submit(run)

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Stop background work safely and close the library (called when the window closes)."""
        self.cancel_download()
        self.cancel_switch()
        self.cancel_indexing()
        self._index_runner.wait(timeout_ms)
        self._searches.wait(timeout_ms)
        self._model_runner.wait(timeout_ms)
        self.close_library()
