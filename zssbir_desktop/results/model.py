"""The ranked search results as a Qt list model, with thumbnails loaded on demand."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from zssbir_core.paths import display_path
from zssbir_desktop.results.thumbnails import ThumbnailLoader

PathRole = Qt.ItemDataRole.UserRole + 1
ScoreRole = Qt.ItemDataRole.UserRole + 2
PhotoIdRole = Qt.ItemDataRole.UserRole + 3
ResultRole = Qt.ItemDataRole.UserRole + 4
BrokenRole = Qt.ItemDataRole.UserRole + 5

AnyIndex = QModelIndex | QPersistentModelIndex


class Result(Protocol):
    """What the model needs of a search result (the core's ``SearchResult`` has it)."""

    @property
    def id(self) -> int: ...

    @property
    def path(self) -> Path: ...

    @property
    def score(self) -> float: ...


class ResultsModel(QAbstractListModel):
    """One row per result, best first. ``DecorationRole`` is the thumbnail (None until loaded)."""

    def __init__(self, thumbnails: ThumbnailLoader, thumbnail_size: int = 160, parent: Any = None) -> None:
        super().__init__(parent)
        self._results: list[Result] = []
        self._rows_by_key: dict[Hashable, int] = {}
        self.thumbnails = thumbnails
        self.thumbnail_size = thumbnail_size
        thumbnails.ready.connect(self._thumbnail_ready)

    # -- content -------------------------------------------------------------------------------

    def set_results(self, results: Sequence[Result]) -> None:
        """Show ``results``; when they extend the current list ("show more"), rows are appended."""
        results = list(results)
        current = [r.id for r in self._results]
        if current and len(results) > len(current) and [r.id for r in results[: len(current)]] == current:
            self.beginInsertRows(QModelIndex(), len(current), len(results) - 1)
            self._results = results
            self._reindex()
            self.endInsertRows()
            return
        self.beginResetModel()
        self._results = results
        self._reindex()
        self.endResetModel()

    def clear(self) -> None:
        """Remove every result."""
        self.set_results([])

    def result(self, row: int) -> Result:
        """The result shown in ``row``."""
        return self._results[row]

    def results(self) -> list[Result]:
        """All results, best first."""
        return list(self._results)

    def set_thumbnail_size(self, size: int) -> None:
        """Change the thumbnail size; thumbnails are reloaded at the new size."""
        if size != self.thumbnail_size:
            self.thumbnail_size = size
            self._reindex()
            if self._results:
                self.dataChanged.emit(self.index(0), self.index(len(self._results) - 1))

    def _key(self, result: Result) -> Hashable:
        return (result.id, self.thumbnail_size)

    def _reindex(self) -> None:
        self._rows_by_key = {self._key(r): row for row, r in enumerate(self._results)}

    def _thumbnail_ready(self, key: Hashable) -> None:
        row = self._rows_by_key.get(key)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole, BrokenRole])

    # -- QAbstractListModel --------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._results)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._results) or index.column() != 0:
            return None
        result = self._results[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return display_path(Path(result.path).name)
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnails.pixmap(
                self._key(result), Path(result.path), self.thumbnail_size, int(result.id)
            )
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{display_path(result.path)}\nscore {result.score:.3f}"
        if role == PathRole:
            return str(result.path)
        if role == ScoreRole:
            return float(result.score)
        if role == PhotoIdRole:
            return int(result.id)
        if role == ResultRole:
            return result
        if role == BrokenRole:
            return self.thumbnails.broken.get(self._key(result))
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
