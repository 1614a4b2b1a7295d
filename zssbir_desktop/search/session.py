"""The search session: the current query, the debounced search after each stroke, paging ("show
more"), the folder filter, "find similar" and refining ("more like this" / "not this", a round at a
time, undoable; the canvas stays the base); only the newest request's results are shown."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PIL import Image
from PySide6.QtCore import QObject, QTimer, Signal

from zssbir_core.api import Feedback
from zssbir_desktop.engine import Engine
from zssbir_desktop.error_log import describe_error
from zssbir_desktop.results.model import ResultsModel

if TYPE_CHECKING:
    from zssbir_core.api import Embedder, SearchResult

SEARCH_DELAY_MS = 300
"""Quiet time after a stroke before the search starts (strokes in quick succession coalesce)."""

Sketch = Image.Image | Path
"""What the canvas holds as a query: the drawing (rendered for the model) or a picture file."""


@dataclass(frozen=True)
class SimilarPhoto:
    """A photo of the library as the query ("find similar")."""

    photo_id: int


Query = Sketch | SimilarPhoto


class QuerySource(Protocol):
    """Where the query comes from: the sketch canvas (``SketchCanvas``) in the app."""

    def query(self) -> Sketch:
        """The query as it is now (rendered only when a search starts)."""
        ...

    def is_blank(self) -> bool:
        """True when there is nothing to search with."""
        ...


class SearchSession(QObject):
    """Holds the query, the page size and the folder filter, asks the engine to search and puts
    the newest results into ``results`` (a ``ResultsModel``, when given).

    ``source`` (the canvas) gives the query when a search starts (it is rendered only then);
    ``canvas_changed()`` (or ``sketch_changed(blank)``) tells the session that it changed.
    """

    results_ready = Signal(object)  # list[SearchResult], best first, once shown
    status = Signal(str)  # the line above the results: "12 results", "Waiting for the model…"
    more_available = Signal(bool)  # a full page came back: "Show more" can fetch the next one
    cleared = Signal()  # the canvas is blank: no query, no results
    folder_filter_changed = Signal(object)  # frozenset of the folders searched (empty: all)
    failed = Signal(str)  # a readable message

    def __init__(self, engine: Engine, source: QuerySource, page_size: int, results: ResultsModel | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self._source = source
        self._results = results
        self.page_size = page_size
        self._page_k = page_size
        self._query: Query | None = None
        self._blank = True
        self._folders: frozenset[str] = frozenset()
        self.feedback = Feedback()
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(SEARCH_DELAY_MS)
        self.timer.timeout.connect(self.search_now)
        engine.results_ready.connect(self._show_results)
        engine.search_failed.connect(lambda error: self.failed.emit(f"The search failed: {describe_error(error)}"))
        engine.model_ready.connect(self._model_ready)

    @property
    def query(self) -> Query | None:
        """The query of the last search (None before the first one and after clearing)."""
        return self._query

    @property
    def folder_filter(self) -> frozenset[str]:
        """The folders searched (empty: all of them)."""
        return self._folders

    def has_query(self) -> bool:
        """Whether there is something to search with (a drawing, a picture or a chosen photo)."""
        return self._query is not None or not self._blank

    def canvas_changed(self) -> None:
        """The query source changed: search again after a short pause (blank: clear the results)."""
        self.sketch_changed(self._source.is_blank())

    def sketch_changed(self, blank: bool) -> None:
        """The canvas changed: search again after a short pause (a blank canvas clears the results)."""
        self._blank = blank
        if isinstance(self._query, SimilarPhoto):
            self._query = None
        self._page_k = self.page_size
        if blank:
            self._query = None
            self.feedback.clear()
            self.timer.stop()
            if self._results is not None:
                self._results.clear()
            self.cleared.emit()
            self.status.emit("Draw something to search")
            self.more_available.emit(False)
            return
        self.timer.start()

    def set_page_size(self, k: int) -> None:
        """Show ``k`` results a page (from the next search, a moment later)."""
        self.page_size = self._page_k = k
        self.timer.start()

    def show_more(self) -> None:
        """Fetch the next page of results for the same query."""
        if self._query is None:
            return
        self._page_k += self.page_size
        self.search_now()

    def refine(self, liked: list[int], disliked: list[int]) -> None:
        """One round of feedback on the results: search again, moved towards ``liked`` photos and
        away from ``disliked`` ones (the sketch stays the base)."""
        if isinstance(self._query, SimilarPhoto) or not self.has_query():
            self.status.emit("Draw or open a picture first: refining moves a sketch's search")
            return
        self.feedback.add_round(liked, disliked)
        self._page_k = self.page_size
        self.search_now()

    def undo_refine(self) -> None:
        """Take back the last round of feedback and search again."""
        if self.feedback.undo():
            self._page_k = self.page_size
            self.search_now()
        else:
            self.status.emit('Nothing to undo: no "more like this" or "not this" yet')

    def find_similar(self, photo_id: int) -> None:
        """Search with the library's photo ``photo_id`` as the query."""
        self.feedback.clear()
        self._query = SimilarPhoto(int(photo_id))
        self._page_k = self.page_size
        self.search_now()

    def set_folder_filter(self, folders: set[str] | frozenset[str]) -> None:
        """Search only ``folders`` (empty: all of them), now."""
        self._folders = frozenset(folders)
        self.folder_filter_changed.emit(self._folders)
        self.search_now()

    def keep_folders(self, folders: list[str]) -> None:
        """The library's folders are now ``folders``: forget chosen ones that are gone (no search)."""
        kept = self._folders & set(folders)
        if kept != self._folders:
            self._folders = kept
            self.folder_filter_changed.emit(kept)

    def search_now(self) -> None:
        """Search with the current query (the canvas, or the chosen photo) without waiting."""
        self.timer.stop()
        similar = isinstance(self._query, SimilarPhoto)
        if self._blank and not similar:
            return
        if not similar:
            self._query = self._source.query()
        engine = self.engine
        if not engine.can_search():
            if engine.embedder is None:
                self.status.emit("Waiting for the model…")
            return
        if engine.indexed_with_other_model():
            self.status.emit("Indexing your photos for the new model; results follow")
            return
        folders = sorted(self._folders) or None
        if isinstance(self._query, SimilarPhoto):
            engine.similar(self._query.photo_id, self._page_k, folders)
        elif self._query is not None:
            rounds = Feedback([dict(marks) for marks in self.feedback.rounds])  # a copy for the worker thread
            engine.search(self._query, self._page_k, folders, feedback=rounds)

    def _model_ready(self, _embedder: Embedder) -> None:
        if self.has_query():
            self.search_now()

    def _show_results(self, _request: int, results: list[SearchResult]) -> None:
        shown = list(results)
        self.status.emit(f"{len(shown)} result{'s' if len(shown) != 1 else ''}")
        self.more_available.emit(len(shown) >= self._page_k)
        if self._results is not None:
            self._results.set_results(shown)
        self.results_ready.emit(shown)
