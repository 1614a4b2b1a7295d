"""The results grid: a QListView in icon mode with a delegate that draws thumbnail, name and score."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from zssbir_desktop.results.model import BrokenRole, ScoreRole

TEXT_LINES = 2
CELL_MARGIN = 12
"""Pixels around a thumbnail in its cell (6 on each side)."""
MIN_GAP = 4
"""The least room between two cells; what is left over is spread evenly between the columns."""


class ResultDelegate(QStyledItemDelegate):
    """Draws a square thumbnail cell with the file name and the score below it."""

    def __init__(self, thumbnail_size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnail_size = thumbnail_size

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        line = option.fontMetrics.height()
        return QSize(self.thumbnail_size + CELL_MARGIN, self.thumbnail_size + CELL_MARGIN + TEXT_LINES * line)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        painter.save()
        style = option.widget.style() if option.widget else None
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if selected:
            painter.fillRect(option.rect, palette.highlight())
        elif hovered:
            painter.fillRect(option.rect, palette.midlight())
        side = self.thumbnail_size
        box = QRect(option.rect.left() + (option.rect.width() - side) // 2, option.rect.top() + 6, side, side)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            scaled = pixmap.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(box.center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawPixmap(target, pixmap)
        else:
            painter.fillRect(box, palette.alternateBase())
            broken = index.data(BrokenRole)
            painter.setPen(palette.placeholderText().color())
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "Cannot read" if broken else "…")
        painter.setPen(palette.highlightedText().color() if selected else palette.text().color())
        line = option.fontMetrics.height()
        text_rect = QRect(option.rect.left() + 4, box.bottom() + 4, option.rect.width() - 8, line)
        name = option.fontMetrics.elidedText(
            str(index.data(Qt.ItemDataRole.DisplayRole)), Qt.TextElideMode.ElideMiddle, text_rect.width()
        )
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter, name)
        score = index.data(ScoreRole)
        if score is not None:
            painter.setPen(
                palette.highlightedText().color() if selected else palette.placeholderText().color()
            )
            painter.drawText(text_rect.translated(0, line), Qt.AlignmentFlag.AlignHCenter, f"{score:.3f}")
        if option.state & QStyle.StateFlag.State_HasFocus and style is not None:
            painter.setPen(palette.highlight().color())
            painter.drawRect(option.rect.adjusted(0, 0, -1, -1))
        painter.restore()


class ResultsView(QListView):
    """The grid of results: as many columns as fit its width, the room left spread between them.
    Enter opens the photo (``activated``); ``hovered`` reports the result under the mouse (an
    invalid index when the mouse is over no result or has left the grid)."""

    hovered = Signal(QModelIndex)

    def __init__(self, thumbnail_size: int = 160, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultsView")
        self.setAccessibleName("Search results")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setMouseTracking(True)
        self.setSpacing(0)  # the grid size below spaces the cells
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.delegate = ResultDelegate(thumbnail_size, self)
        self.setItemDelegate(self.delegate)
        self._hovered = QPersistentModelIndex()
        self._fit_columns()

    def columns(self) -> int:
        """How many results fit side by side."""
        return max(1, self._usable_width() // (self._cell_width() + MIN_GAP))

    def set_thumbnail_size(self, size: int) -> None:
        """Resize the cells for a new thumbnail size."""
        self.delegate.thumbnail_size = size
        self._fit_columns()
        self.scheduleDelayedItemsLayout()

    def _cell_width(self) -> int:
        return self.delegate.thumbnail_size + CELL_MARGIN

    def _usable_width(self) -> int:
        # the scroll bar's room is kept whether it shows or not, so that showing it (more results,
        # a smaller pane) never changes the columns under the mouse
        # (and a few pixels more: the list lays out a row only while a cell fits with room to spare)
        scroll_bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        return self.width() - 2 * self.frameWidth() - scroll_bar - MIN_GAP

    def _fit_columns(self) -> None:
        line = self.fontMetrics().height()
        height = self.delegate.thumbnail_size + CELL_MARGIN + TEXT_LINES * line + MIN_GAP
        width = max(self._cell_width() + MIN_GAP, self._usable_width() // self.columns())
        if self.gridSize() != QSize(width, height):
            self.setGridSize(QSize(width, height))

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._fit_columns()
        super().resizeEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        super().mouseMoveEvent(event)
        self._set_hovered(self.indexAt(event.position().toPoint()))

    def leaveEvent(self, event: QEvent) -> None:
        super().leaveEvent(event)
        self._set_hovered(QModelIndex())

    def hovered_index(self) -> QModelIndex:
        """The result under the mouse (invalid: none)."""
        hovered, model = self._hovered, self.model()
        return model.index(hovered.row(), hovered.column()) if hovered.isValid() and model is not None else QModelIndex()

    def _set_hovered(self, index: QModelIndex) -> None:
        if QPersistentModelIndex(index) != self._hovered:
            self._hovered = QPersistentModelIndex(index)
            self.hovered.emit(index)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activated.emit(self.currentIndex())
            return
        super().keyPressEvent(event)
