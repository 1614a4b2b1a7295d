"""The app's link to ``zssbir_core``: one library, one model, and the background work on them.

Everything here runs core functions on worker threads and reports back through signals on the
GUI thread; nothing here computes anything itself. Torch and the model code are imported inside
the workers, so the window can appear before they are loaded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image
from PySide6.QtCore import QObject, Signal

from zssbir_desktop.folder_watch import FolderWatch
from zssbir_desktop.search_runner import SearchRunner
from zssbir_desktop.workers import Report, Task, TaskRunner

if TYPE_CHECKING:
    from zssbir_core.api import Embedder, Feedback, PhotoLibrary, SketchSearcher

log = logging.getLogger("zssbir.desktop")

INDEX_BATCH_SIZE = 16
"""Photos embedded per step while indexing in the app: small enough that the progress bar moves
and Cancel answers within a few seconds even with ResNet50 on a CPU."""


class Engine(QObject):
    """Holds the open ``PhotoLibrary`` and the loaded ``Embedder``; runs indexing and searches."""

    model_loading = Signal(str)
    model_ready = Signal(object)
    model_failed = Signal(object)
    library_changed = Signal()
    indexing_started = Signal()
    indexing_progress = Signal(object)
    indexing_finished = Signal(bool)  # cancelled
    indexing_failed = Signal(object)
    results_ready = Signal(int, object)
    search_failed = Signal(object)
    download_progress = Signal(int, int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library: PhotoLibrary | None = None
        self.embedder: Embedder | None = None
        self.searcher: SketchSearcher | None = None
        self.model_runner = TaskRunner(1, self)
        self.index_runner = TaskRunner(1, self)
        self.searches = SearchRunner(self)
        self.folder_watch = FolderWatch(self, self)  # photos changed on disk are indexed within seconds
        self.searches.results.connect(self.results_ready)
        self.searches.failed.connect(lambda _request, error: self.search_failed.emit(error))
        self._index_task: Task | None = None
        self._download_task: Task | None = None

    # -- library -------------------------------------------------------------------------------

    def open_library(self, directory: Path) -> None:
        """Open (or create) the library at ``directory``; raises ``LibraryError`` with a message."""
        from zssbir_core.api import open_library

        self.close_library()
        self.library = open_library(directory)
        self._make_searcher()
        self.library_changed.emit()

    def close_library(self) -> None:
        """Stop indexing and close the library (safe to call twice)."""
        self.folder_watch.stop()
        self.cancel_indexing()
        self.index_runner.wait()
        self._index_task = None
        if self.library is not None:
            self.library.close()
            self.library = None
            self.searcher = None

    def folders(self) -> list[tuple[str, int]]:
        """(path, photo count) of each watched folder."""
        if self.library is None:
            return []
        return [(str(f.path), int(f.photo_count)) for f in self.library.folders()]

    def skipped(self) -> list[tuple[str, str]]:
        """(path, reason) of each file the last indexing runs could not read."""
        if self.library is None:
            return []
        from zssbir_core.paths import display_path

        return [(display_path(s.path), str(s.reason)) for s in self.library.skipped()]

    def thumbnail_image(self, path: Path, size: int, photo_id: int | None = None) -> Image.Image:
        """A thumbnail for the results grid (called on a pool thread): the library's cached one
        when it is big enough, else decoded from the photo itself."""
        from zssbir_core.api import THUMBNAIL_SIZE, open_image
        from zssbir_desktop.thumbnails import file_thumbnail

        library = self.library
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
        if self.library is None:
            from zssbir_core.errors import LibraryError

            raise LibraryError("no library is open")
        return self.library

    # -- model ---------------------------------------------------------------------------------

    def load_model(
        self, spec: str, device: str = "auto", weights: str | None = None, image_size: int | None = None
    ) -> None:
        """Load a model in the background; ``model_ready`` or ``model_failed`` follows."""
        self.model_loading.emit(str(spec))

        def work(_report: Report, _cancel: threading.Event) -> Embedder:
            from zssbir_core.api import load_model, resnet50_downloaded
            from zssbir_core.errors import WeightsUnavailableError

            if spec == "resnet50-imagenet" and not weights and not resnet50_downloaded():
                # Not downloaded yet: the window downloads it with a progress dialog and Cancel.
                raise WeightsUnavailableError("the ResNet50 ImageNet weights have not been downloaded yet")
            return load_model(spec, device=device, weights=weights or None, image_size=image_size)

        self.model_runner.start(
            work, name=f"load model {spec}", on_success=self._set_embedder, on_failure=self.model_failed.emit
        )

    def set_embedder(self, embedder: Embedder) -> None:
        """Use an already loaded model (tests and scripts hold one)."""
        self._set_embedder(embedder)

    def _set_embedder(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._make_searcher()
        self.model_ready.emit(embedder)

    def _make_searcher(self) -> None:
        from zssbir_core.api import make_searcher

        self.searcher = (
            make_searcher(self.library, self.embedder)
            if self.library is not None and self.embedder is not None
            else None
        )

    def download_weights(
        self,
        url: str | None = None,
        *,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> Task:
        """Download the ResNet50 ImageNet weights with progress; cancel with ``cancel_download``.

        The callbacks are connected before the task starts: a download that fails at once (no
        network) must still be reported."""

        def work(report: Report, cancel: threading.Event) -> Path:
            from zssbir_core.api import download_resnet50_weights

            return download_resnet50_weights(
                progress=lambda done, total: report((done, total)), cancel=cancel, url=url
            )

        task = self.model_runner.start(work, name="download ResNet50 weights",
                                       on_progress=lambda pair: self.download_progress.emit(*pair),
                                       on_success=on_success, on_failure=on_failure)
        self._download_task = task
        return task

    def cancel_download(self) -> None:
        """Stop a running weights download (nothing is left in the cache)."""
        if self._download_task is not None:
            self._download_task.cancel.set()

    # -- indexing ------------------------------------------------------------------------------

    def indexing(self) -> bool:
        """True while an indexing run is going on."""
        return self._index_task is not None

    def start_indexing(self) -> bool:
        """Scan the watched folders and embed what is new or changed; False if it cannot start
        now (no model or library yet, or a run is already going)."""
        if self.library is None or self.embedder is None or self._index_task is not None:
            return False
        library, embedder = self.library, self.embedder

        def work(report: Report, cancel: threading.Event) -> bool:
            for event in library.index(embedder, cancel=cancel, batch_size=INDEX_BATCH_SIZE):
                report(event)
            return cancel.is_set()

        self._index_task = self.index_runner.start(
            work,
            name="indexing",
            on_progress=self.indexing_progress.emit,
            on_success=self._indexing_done,
            on_failure=self._indexing_error,
        )
        self.indexing_started.emit()
        return True

    def cancel_indexing(self) -> None:
        """Ask the indexing run to stop; what was done so far is kept."""
        if self._index_task is not None:
            self._index_task.cancel.set()

    def _indexing_done(self, cancelled: bool) -> None:
        self._index_task = None
        self.library_changed.emit()
        self.indexing_finished.emit(bool(cancelled))

    def _indexing_error(self, error: BaseException) -> None:
        self._index_task = None
        self.library_changed.emit()
        self.indexing_failed.emit(error)

    # -- search --------------------------------------------------------------------------------

    def search(self, query: Image.Image | Path, k: int, folders: Sequence[str] | None = None,
               feedback: Feedback | None = None) -> int | None:
        """Search with a sketch or picture (moved by ``feedback``, "more like this" / "not this");
        the newest request's results arrive in ``results_ready``."""
        searcher = self.searcher
        if searcher is None:
            return None
        chosen = [Path(f) for f in folders] if folders else None
        return self.searches.submit(lambda: searcher.search(query, k=k, folders=chosen, feedback=feedback))

    def similar(self, photo_id: int, k: int, folders: Sequence[str] | None = None) -> int | None:
        """Search with a photo of the library as the query."""
        searcher = self.searcher
        if searcher is None:
            return None
        chosen = [Path(f) for f in folders] if folders else None
        return self.searches.submit(lambda: searcher.similar(photo_id, k=k, folders=chosen))

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Stop background work safely and close the library (called when the window closes)."""
        self.cancel_download()
        self.cancel_indexing()
        self.index_runner.wait(timeout_ms)
        self.searches.runner.wait(timeout_ms)
        self.model_runner.wait(timeout_ms)
        self.close_library()
