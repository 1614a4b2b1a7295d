"""The sketch canvas: smooth pen and eraser strokes on a square white page, with undo and redo.

Strokes are kept as vectors in page units (0..1 on both axes), so the page can be drawn crisply
at any widget size and any screen scale, and the image sent to the model (``sketch_image``) depends only
on the size asked for, never on the screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QTabletEvent,
    QUndoCommand,
    QUndoStack,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from zssbir_core.api import CANVAS_PEN_WIDTH, REFERENCE_SIDE
from zssbir_desktop.canvas.imageconv import qimage_to_pil

MODEL_SIDE = 256
"""Side of the image sent to the model (the size of the Sketchy sketches it was trained on)."""


@dataclass
class Stroke:
    """One pen or eraser stroke: points in page units, width in reference pixels."""

    points: list[QPointF] = field(default_factory=list)
    width: float = CANVAS_PEN_WIDTH
    eraser: bool = False


@dataclass
class PageState:
    """Everything on the page: an optional background picture (a query image) and strokes."""

    strokes: list[Stroke] = field(default_factory=list)
    image: QImage | None = None
    image_path: Path | None = None


def stroke_path(points: list[QPointF], side: float) -> QPainterPath:
    """A smooth path through ``points`` (page units scaled to ``side``): quadratic curves whose
    control points are the samples and whose ends are the midpoints between them."""
    scaled = [QPointF(p.x() * side, p.y() * side) for p in points]
    path = QPainterPath(scaled[0])
    if len(scaled) == 1:
        path.lineTo(scaled[0] + QPointF(0.01, 0.0))
        return path
    for previous, current in pairwise(scaled):
        middle = (previous + current) / 2.0
        path.quadTo(previous, middle)
    path.lineTo(scaled[-1])
    return path


def paint_page(painter: QPainter, state: PageState, side: float) -> None:
    """Paint the whole page into the square (0, 0, side, side) of ``painter``."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    painter.fillRect(QRectF(0, 0, side, side), QColor(Qt.GlobalColor.white))
    if state.image is not None and not state.image.isNull():
        size = state.image.size().scaled(QSize(int(side), int(side)), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRectF((side - size.width()) / 2, (side - size.height()) / 2, size.width(), size.height())
        painter.drawImage(target, state.image)
    for stroke in state.strokes:
        paint_stroke(painter, stroke, side)
    painter.restore()


def paint_stroke(painter: QPainter, stroke: Stroke, side: float) -> None:
    """Paint one stroke (black ink, or white for the eraser) with round caps and joins."""
    if not stroke.points:
        return
    color = QColor(Qt.GlobalColor.white) if stroke.eraser else QColor(Qt.GlobalColor.black)
    pen = QPen(color, stroke.width * side / REFERENCE_SIDE)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(stroke_path(stroke.points, side))


class _ChangePage(QUndoCommand):
    """An undoable change of the whole page state (strokes are small, so snapshots are cheap)."""

    def __init__(self, canvas: SketchCanvas, before: PageState, after: PageState, text: str) -> None:
        super().__init__(text)
        self._canvas = canvas
        self._before = before
        self._after = after

    def redo(self) -> None:
        self._canvas._set_state(self._after)

    def undo(self) -> None:
        self._canvas._set_state(self._before)


class SketchCanvas(QWidget):
    """A square drawing page. ``changed`` fires after each finished stroke, undo, redo, clear or
    new picture; ``sketch_image()`` gives the page as the model sees it."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sketchCanvas")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 240)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip("Draw what you are looking for")
        self.setAccessibleName("Sketch canvas")
        self.setAccessibleDescription(
            "Draw with the mouse or a pen; matching photos are searched after each stroke"
        )
        self.undo_stack = QUndoStack(self)
        self.undo_stack.indexChanged.connect(self.changed)
        self._state = PageState()
        self._current: Stroke | None = None
        self._cache: QPixmap | None = None
        self.pen_width = CANVAS_PEN_WIDTH
        self.eraser = False

    # -- public API ----------------------------------------------------------------------------

    def state(self) -> PageState:
        """The page as it is now (do not mutate; use the editing methods)."""
        return self._state

    def is_blank(self) -> bool:
        """True when there is nothing on the page."""
        return not self._state.strokes and self._state.image is None

    def add_stroke(self, points: list[QPointF], *, width: float | None = None, eraser: bool = False) -> None:
        """Add a finished stroke given in page units (0..1) as one undoable step."""
        if not points:
            return
        stroke = Stroke(list(points), self.pen_width if width is None else width, eraser)
        after = PageState([*self._state.strokes, stroke], self._state.image, self._state.image_path)
        self.undo_stack.push(_ChangePage(self, self._state, after, "Draw" if not eraser else "Erase"))

    def clear(self) -> None:
        """Empty the page (undoable)."""
        if not self.is_blank():
            self.undo_stack.push(_ChangePage(self, self._state, PageState(), "Clear"))

    def set_image(self, image: QImage, path: Path | None = None) -> None:
        """Replace the page by a picture (opened, pasted or dropped) to search with (undoable)."""
        picture = image.convertToFormat(QImage.Format.Format_RGB32)
        self.undo_stack.push(_ChangePage(self, self._state, PageState([], picture, path), "Picture"))

    def sketch_image(self, side: int = MODEL_SIDE) -> QImage:
        """The page as an RGB image of ``side`` x ``side`` pixels, whatever the screen's scale."""
        image = QImage(side, side, QImage.Format.Format_RGB32)
        image.setDevicePixelRatio(1.0)
        painter = QPainter(image)
        paint_page(painter, self._state, float(side))
        painter.end()
        return image

    def query_path(self) -> Path | None:
        """The file the page shows unchanged (a picture with no strokes on it), if any: searching
        with the original file is better than with its letter-boxed copy."""
        if self._state.image_path is not None and not self._state.strokes:
            return self._state.image_path
        return None

    def query(self) -> Path | Image.Image:
        """What to search with: the unchanged picture's file, else the page rendered for the model."""
        path = self.query_path()
        return path if path is not None else qimage_to_pil(self.sketch_image())

    # -- state and geometry --------------------------------------------------------------------

    def _set_state(self, state: PageState) -> None:
        self._state = state
        self._cache = None
        self.update()

    def page_rect(self) -> QRectF:
        """The square, centred area of the widget that shows the page."""
        side = float(min(self.width(), self.height()))
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def _to_page(self, position: QPointF) -> QPointF:
        rect = self.page_rect()
        x = (position.x() - rect.left()) / rect.width()
        y = (position.y() - rect.top()) / rect.height()
        return QPointF(min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0))

    # -- painting ------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(520, 520)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._cache = None
        super().resizeEvent(event)

    def _page_pixmap(self) -> QPixmap:
        """The finished strokes, rendered once at the screen's real pixel density."""
        rect = self.page_rect()
        ratio = self.devicePixelRatioF()
        if self._cache is None or self._cache.devicePixelRatio() != ratio:
            pixels = max(int(round(rect.width() * ratio)), 1)
            pixmap = QPixmap(pixels, pixels)
            pixmap.setDevicePixelRatio(ratio)
            painter = QPainter(pixmap)
            paint_page(painter, self._state, rect.width())
            painter.end()
            self._cache = pixmap
        return self._cache

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        rect = self.page_rect()
        painter.drawPixmap(rect.topLeft(), self._page_pixmap())
        if self._current is not None:
            painter.translate(rect.topLeft())
            painter.setClipRect(QRectF(0, 0, rect.width(), rect.height()))
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            paint_stroke(painter, self._current, rect.width())
        if self.hasFocus():
            painter.resetTransform()
            painter.setClipping(False)
            pen = QPen(self.palette().highlight().color(), 2)
            painter.setPen(pen)
            painter.drawRect(rect.adjusted(1, 1, -1, -1))
        painter.end()

    # -- input ---------------------------------------------------------------------------------

    def _begin(self, position: QPointF) -> None:
        self._current = Stroke([self._to_page(position)], self.pen_width, self.eraser)
        self.update()

    def _extend(self, position: QPointF) -> None:
        if self._current is None:
            return
        point = self._to_page(position)
        last = self._current.points[-1]
        side = self.page_rect().width()
        if abs(point.x() - last.x()) * side + abs(point.y() - last.y()) * side >= 1.0:
            self._current.points.append(point)
            self.update()

    def _finish(self) -> None:
        stroke, self._current = self._current, None
        if stroke is not None:
            self.add_stroke(stroke.points, width=stroke.width, eraser=stroke.eraser)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._begin(event.position())
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._extend(event.position())
            event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._extend(event.position())
            self._finish()
            event.accept()

    def tabletEvent(self, event: QTabletEvent) -> None:
        kind = event.type()
        if kind == QTabletEvent.Type.TabletPress:
            self._begin(event.position())
        elif kind == QTabletEvent.Type.TabletMove:
            self._extend(event.position())
        elif kind == QTabletEvent.Type.TabletRelease:
            self._finish()
        event.accept()
