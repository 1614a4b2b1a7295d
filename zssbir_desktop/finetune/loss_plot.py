"""A small live plot of the training loss, painted with QPainter (no plotting library)."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


class LossPlot(QWidget):
    """The loss against the step: a line over the raw values and a smoothed one on top.

    Holds at most ``max_points`` points: when full, every other point is dropped, so a long run
    keeps its whole history at a coarser resolution and painting stays cheap.
    """

    def __init__(self, parent: QWidget | None = None, *, max_points: int = 2000) -> None:
        super().__init__(parent)
        self.max_points = max_points
        self._points: list[tuple[float, float]] = []
        self.total_steps = 0
        self.setMinimumSize(220, 110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAccessibleName("Training loss plot")

    def sizeHint(self) -> QSize:
        return QSize(360, 140)

    def points(self) -> list[tuple[float, float]]:
        return list(self._points)

    def clear(self, total_steps: int = 0) -> None:
        self._points.clear()
        self.total_steps = total_steps
        self.update()

    def add_point(self, step: float, loss: float) -> None:
        if not math.isfinite(loss):
            return
        self._points.append((float(step), float(loss)))
        if len(self._points) > self.max_points:
            self._points = self._points[::2]
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        metrics = painter.fontMetrics()
        margin_left = metrics.horizontalAdvance("0.000") + 8
        frame = QRectF(margin_left, 6, self.width() - margin_left - 8, self.height() - metrics.height() - 14)
        painter.setPen(QPen(palette.mid().color(), 1))
        painter.drawRect(frame)
        if not self._points:
            painter.setPen(palette.placeholderText().color())
            painter.drawText(frame, Qt.AlignmentFlag.AlignCenter, "The loss appears here during training")
            return
        steps = [p[0] for p in self._points]
        losses = [p[1] for p in self._points]
        low, high = min(losses), max(losses)
        if high - low < 1e-9:
            low, high = low - 0.5, high + 0.5
        last_step = max(max(steps), float(self.total_steps), 1.0)

        def to_point(step: float, loss: float) -> QPointF:
            x = frame.left() + frame.width() * step / last_step
            y = frame.bottom() - frame.height() * (loss - low) / (high - low)
            return QPointF(x, y)

        raw = QPainterPath(to_point(*self._points[0]))
        for step, loss in self._points[1:]:
            raw.lineTo(to_point(step, loss))
        faint = palette.highlight().color()
        faint.setAlpha(90)
        painter.setPen(QPen(faint, 1))
        painter.drawPath(raw)
        smooth = QPainterPath()
        average = losses[0]
        for index, (step, loss) in enumerate(self._points):
            average = 0.9 * average + 0.1 * loss if index else loss
            point = to_point(step, average)
            smooth.moveTo(point) if index == 0 else smooth.lineTo(point)
        painter.setPen(QPen(palette.highlight().color(), 2))
        painter.drawPath(smooth)
        painter.setPen(palette.text().color())
        painter.drawText(QPointF(2, frame.top() + metrics.ascent()), f"{high:.3f}")
        painter.drawText(QPointF(2, frame.bottom()), f"{low:.3f}")
        caption = f"step {int(steps[-1])}" + (f" of {self.total_steps}" if self.total_steps else "") \
            + f" · loss {losses[-1]:.3f}"
        painter.drawText(QPointF(frame.left(), self.height() - 4), caption)
