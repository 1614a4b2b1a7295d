"""The sketch canvas: strokes drawn with the mouse, undo/redo, clear, rendering for the model."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from zssbir_desktop.canvas.imageconv import qimage_to_pil
from zssbir_desktop.canvas.sketch_canvas import MODEL_SIDE, SketchCanvas


def ink(image: QImage) -> int:
    """Number of clearly dark pixels."""
    return int((np.asarray(qimage_to_pil(image).convert("L")) < 128).sum())


def drag(qtbot, widget, points: list[tuple[int, int]]) -> None:
    """Press, move through ``points`` and release with the left button, like a hand would."""
    QTest.mousePress(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(*points[0]))
    for x, y in points[1:]:
        QTest.mouseMove(widget, QPoint(x, y))
    QTest.mouseRelease(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(*points[-1]))


def make_canvas(qtbot) -> SketchCanvas:
    canvas = SketchCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(400, 400)
    canvas.show()
    qtbot.waitExposed(canvas)
    return canvas


def test_mouse_stroke_is_drawn_and_emits_changed(qtbot) -> None:
    canvas = make_canvas(qtbot)
    assert canvas.is_blank()
    with qtbot.waitSignal(canvas.changed):
        drag(qtbot, canvas, [(50, 50), (120, 90), (200, 200), (300, 220)])
    assert len(canvas.state().strokes) == 1
    assert len(canvas.state().strokes[0].points) >= 3
    assert ink(canvas.sketch_image()) > 100


def test_undo_redo_and_clear(qtbot) -> None:
    canvas = make_canvas(qtbot)
    drag(qtbot, canvas, [(50, 50), (350, 50)])
    drag(qtbot, canvas, [(50, 300), (350, 300)])
    assert len(canvas.state().strokes) == 2
    canvas.undo_stack.undo()
    assert len(canvas.state().strokes) == 1
    canvas.undo_stack.redo()
    assert len(canvas.state().strokes) == 2
    canvas.clear()
    assert canvas.is_blank()
    canvas.undo_stack.undo()
    assert len(canvas.state().strokes) == 2


def test_eraser_removes_ink(qtbot) -> None:
    canvas = make_canvas(qtbot)
    canvas.pen_width = 10
    drag(qtbot, canvas, [(50, 200), (350, 200)])
    before = ink(canvas.sketch_image())
    canvas.eraser = True
    canvas.pen_width = 40
    drag(qtbot, canvas, [(40, 200), (360, 200)])
    assert ink(canvas.sketch_image()) < before * 0.05


def test_render_does_not_depend_on_widget_size_or_scale(qtbot) -> None:
    small, large = make_canvas(qtbot), make_canvas(qtbot)
    large.resize(800, 700)
    points = [QPointF(0.1, 0.2), QPointF(0.5, 0.6), QPointF(0.9, 0.3)]
    small.add_stroke(points, width=6)
    large.add_stroke(points, width=6)
    a, b = small.sketch_image(), large.sketch_image()
    assert a.size().width() == MODEL_SIDE and a.devicePixelRatio() == 1.0
    assert qimage_to_pil(a).tobytes() == qimage_to_pil(b).tobytes()


def test_square_page_and_picture_query(qtbot) -> None:
    canvas = make_canvas(qtbot)
    canvas.resize(600, 300)
    rect = canvas.page_rect()
    assert rect.width() == rect.height() == 300
    picture = QImage(64, 32, QImage.Format.Format_RGB32)
    picture.fill(Qt.GlobalColor.black)
    canvas.set_image(picture)
    rendered = canvas.sketch_image()
    assert rendered.pixelColor(128, 128).black() > 200  # the picture, letter-boxed in the middle
    assert rendered.pixelColor(128, 5).lightness() == 255  # white above it
    canvas.undo_stack.undo()
    assert canvas.is_blank()


SCALE_PROBE = """
import hashlib, sys
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication
app = QApplication([])
from zssbir_desktop.canvas.sketch_canvas import SketchCanvas
canvas = SketchCanvas()
canvas.resize(300, 300)
canvas.show()
canvas.add_stroke([QPointF(0.1, 0.2), QPointF(0.5, 0.7), QPointF(0.9, 0.4)], width=5)
canvas.grab()
page = canvas._page_pixmap()
image = canvas.sketch_image()
print(page.devicePixelRatio(), page.width(), image.width(), hashlib.sha256(bytes(image.constBits())).hexdigest())
"""


@pytest.mark.subprocess
def test_high_dpi_draws_at_device_pixels_and_the_model_image_is_unchanged(tmp_path) -> None:
    """At a screen scale of 2 the page is painted with twice the pixels (crisp lines), while the
    image sent to the model is identical to the one made at scale 1."""
    import os
    import subprocess
    import sys

    results = []
    for scale in ("1", "2"):
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR=scale)
        out = subprocess.run(
            [sys.executable, "-c", SCALE_PROBE], env=env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        ratio, page_pixels, model_side, digest = out.stdout.split()
        results.append((float(ratio), int(page_pixels), int(model_side), digest))
    (r1, p1, m1, d1), (r2, p2, m2, d2) = results
    assert (r1, r2) == (1.0, 2.0) and p2 == 2 * p1
    assert m1 == m2 == MODEL_SIDE and d1 == d2


def test_stroke_width_box_starts_at_the_pen_width_trained_for_and_remembers_a_change(qtbot, tmp_path) -> None:
    from PySide6.QtCore import QSettings

    from zssbir_core.api import CANVAS_PEN_WIDTH
    from zssbir_desktop.window.actions import stroke_width_spin

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    canvas = make_canvas(qtbot)
    spin = stroke_width_spin(canvas, settings)
    qtbot.addWidget(spin)
    assert spin.value() == CANVAS_PEN_WIDTH == canvas.pen_width == 6
    spin.setValue(11)
    assert canvas.pen_width == 11 and int(settings.value("canvas/width")) == 11
    again = make_canvas(qtbot)
    qtbot.addWidget(spin2 := stroke_width_spin(again, settings))
    assert spin2.value() == 11 and again.pen_width == 11, "a width chosen once is kept"
