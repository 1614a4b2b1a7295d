"""The results grid: a QListView in icon mode with a delegate that draws thumbnail, name and score."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from zssbir_desktop.results_model import BrokenRole, ScoreRole

TEXT_LINES = 2


class ResultDelegate(QStyledItemDelegate):
    """Draws a square thumbnail cell with the file name and the score below it."""

    def __init__(self, thumbnail_size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnail_size = thumbnail_size

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        line = option.fontMetrics.height()
        return QSize(self.thumbnail_size + 12, self.thumbnail_size + 12 + TEXT_LINES * line)

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
    """The grid of results. Enter opens the photo (``activated``); hover reports ``hovered``."""

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
        self.setSpacing(4)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.delegate = ResultDelegate(thumbnail_size, self)
        self.setItemDelegate(self.delegate)
        self.entered.connect(self.hovered)

    def set_thumbnail_size(self, size: int) -> None:
        """Resize the cells for a new thumbnail size."""
        self.delegate.thumbnail_size = size
        self.scheduleDelayedItemsLayout()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activated.emit(self.currentIndex())
            return
        super().keyPressEvent(event)
