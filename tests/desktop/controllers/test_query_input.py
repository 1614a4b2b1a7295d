"""Query input without a window: a real canvas, real Sketchy sketches, the real clipboard, real
drops (mime data) and PNG files written to a tmp folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QColor, QGuiApplication, QImage

from zssbir_desktop.canvas.query_input import QueryInput
from zssbir_desktop.canvas.sketch_canvas import SketchCanvas


@pytest.fixture
def canvas(qtbot) -> SketchCanvas:
    canvas = SketchCanvas()
    qtbot.addWidget(canvas)
    return canvas


def sketch_file(sketchy_root: Path) -> Path:
    return sorted((sketchy_root / "sketch" / "apple").glob("*.png"))[0]


def urls(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def test_an_image_file_becomes_the_query_and_a_bad_one_changes_nothing(qtbot, canvas, sketchy_root, tmp_path) -> None:
    query = QueryInput(canvas)
    errors: list[str] = []
    query.error.connect(errors.append)
    with qtbot.waitSignal(canvas.changed):
        assert query.load_image(sketch_file(sketchy_root))
    assert canvas.query_path() == sketch_file(sketchy_root) and not canvas.is_blank()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG broken")
    assert not query.load_image(broken)
    assert errors and errors[0].startswith("This image cannot be used")
    assert canvas.query_path() == sketch_file(sketchy_root)


def test_paste_takes_an_image_or_an_image_file_from_the_clipboard(qtbot, canvas, sketchy_root) -> None:
    query = QueryInput(canvas)
    clipboard = QGuiApplication.clipboard()
    picture = QImage(64, 64, QImage.Format.Format_RGB32)
    picture.fill(QColor("black"))
    clipboard.setImage(picture)
    assert query.paste() and not canvas.is_blank() and canvas.query_path() is None
    clipboard.setMimeData(urls(sketch_file(sketchy_root)))
    assert query.paste() and canvas.query_path() == sketch_file(sketchy_root)
    messages: list[str] = []
    query.status.connect(lambda text, _ms: messages.append(text))
    clipboard.setText("just words")
    assert not query.paste() and messages == ["The clipboard holds no image."]
    assert canvas.query_path() == sketch_file(sketchy_root)


def test_drops_folders_to_the_library_and_a_file_or_image_to_the_canvas(qtbot, canvas, sketchy_root, tmp_path) -> None:
    query = QueryInput(canvas)
    dropped: list[list[Path]] = []
    query.folders_dropped.connect(dropped.append)
    folder = tmp_path / "photos"
    folder.mkdir()
    assert query.accepts(urls(folder)) and not query.accepts(QMimeData())
    query.drop(urls(folder, sketch_file(sketchy_root)))  # folders win: the file is not the query
    assert dropped == [[folder]] and canvas.is_blank()
    query.drop(urls(sketch_file(sketchy_root)))
    assert canvas.query_path() == sketch_file(sketchy_root)
    image = QMimeData()
    picture = QImage(32, 32, QImage.Format.Format_RGB32)
    picture.fill(QColor("black"))
    image.setImageData(picture)
    assert query.accepts(image)
    query.drop(image)
    assert canvas.query_path() is None and not canvas.is_blank()


def test_the_sketch_is_saved_as_a_256_px_png_and_a_failure_is_reported(qtbot, canvas, sketchy_root, tmp_path) -> None:
    query = QueryInput(canvas)
    query.load_image(sketch_file(sketchy_root))
    errors: list[str] = []
    query.error.connect(errors.append)
    assert query.save_sketch_to(tmp_path / "my sketch")
    saved = QImage(str(tmp_path / "my sketch.png"))
    assert saved.width() == saved.height() == 256
    assert not query.save_sketch_to(tmp_path / "no-such-folder" / "x.png")
    assert errors and "could not be saved" in errors[0]
