"""Replay Quick, Draw! strokes on the app's own canvas and take the image it sends to the model.

The desktop's ``SketchCanvas`` (offscreen Qt) gets each stroke as a finished stroke at its default
pen width, the doodle fitted to the page as ``zssbir_core.data.doodles.fit_to_page`` places it
(centred, 1/16 of the page as margin); ``sketch_image()`` is what the app embeds after each stroke.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from zssbir_core.data.doodles import Strokes, first_strokes, fit_to_page

_APP = None


def _canvas():
    """A fresh canvas widget (the QApplication is made once, offscreen unless a platform is set)."""
    global _APP
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from zssbir_desktop.canvas.sketch_canvas import SketchCanvas

    _APP = QApplication.instance() or QApplication([])
    return SketchCanvas()


def canvas_image(strokes: Strokes, share: float = 1.0, place: tuple[float, float, float] | None = None) -> Image.Image:
    """The 256 px RGB image the app embeds once the first ``share`` of ``strokes`` (raw doodle
    coordinates, in drawing order) are drawn on its canvas; ``place`` = ``(scale, x, y)`` draws the
    fitted doodle ``scale`` times as large, centred on page point ``(x, y)``, as someone drawing
    small and off-centre would."""
    from PySide6.QtCore import QPointF

    from zssbir_desktop.canvas.imageconv import qimage_to_pil

    canvas = _canvas()
    try:
        fitted = fit_to_page(strokes)
        if place is not None:
            scale, x, y = place
            fitted = [(stroke - 0.5) * scale + np.array([x, y]) for stroke in fitted]
        for stroke in first_strokes(fitted, share):
            canvas.add_stroke([QPointF(float(x), float(y)) for x, y in np.asarray(stroke)])
        return qimage_to_pil(canvas.sketch_image()).convert("RGB")
    finally:
        canvas.deleteLater()
