"""The Qt binding the app runs on keeps Python's reference counts: PySide6 6.12.0 dropped a reference
to None on every call of a method that returns nothing, and before Python 3.12 (None not immortal)
the app aborted with "none_dealloc" after some thousand strokes' worth of painting."""

from __future__ import annotations

import sys

from PySide6.QtCore import QPointF
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QWidget

CALLS = 500  # few enough that a leaking binding fails this test instead of aborting the run


def test_methods_that_return_nothing_keep_none_alive(qtbot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    path = QPainterPath(QPointF(0, 0))
    before = sys.getrefcount(None)
    for i in range(CALLS):
        path.lineTo(float(i), 1.0)  # what the canvas does for every point of every stroke it paints
        path.quadTo(QPointF(i, 2.0), QPointF(i, 3.0))
        widget.update()
    assert sys.getrefcount(None) >= before - 10, f"PySide6 lost {before - sys.getrefcount(None)} references to None"
