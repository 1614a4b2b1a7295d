"""The trainer draws doodles as the canvas does: ``zssbir_core.data.doodles.render_strokes``
against the strokes added to a real ``SketchCanvas`` at its default pen width."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF

from zssbir_core.data.doodles import fit_to_page, render_strokes
from zssbir_desktop.canvas.imageconv import qimage_to_pil
from zssbir_desktop.canvas.sketch_canvas import SketchCanvas


def test_training_drawing_matches_the_canvas(qtbot) -> None:
    angles = np.linspace(0, 2 * np.pi, 40)
    strokes = [np.column_stack([50 + 40 * np.cos(angles), 50 + 30 * np.sin(angles)]),
               np.array([[20.0, 90.0], [50.0, 60.0], [80.0, 95.0]]), np.array([[50.0, 50.0]])]
    page = fit_to_page(strokes)
    canvas = SketchCanvas()
    qtbot.addWidget(canvas)
    for stroke in page:
        canvas.add_stroke([QPointF(float(x), float(y)) for x, y in stroke])
    on_canvas = np.asarray(qimage_to_pil(canvas.sketch_image()).convert("L")) < 128
    drawn = np.asarray(render_strokes(page, width=canvas.pen_width).convert("L")) < 128
    assert drawn.shape == on_canvas.shape == (256, 256)
    overlap = (drawn & on_canvas).sum() / (drawn | on_canvas).sum()
    assert overlap > 0.7, overlap
    assert abs(int(drawn.sum()) - int(on_canvas.sum())) < 0.2 * on_canvas.sum()
