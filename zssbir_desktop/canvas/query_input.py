"""Query input: a picture as the query (an image file, the clipboard, a drop onto the window) put
on the canvas, dropped folders handed on to the library, and the sketch saved as a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QMimeData, QObject, Signal
from PySide6.QtGui import QGuiApplication, QImage

from zssbir_core.errors import ZssbirError
from zssbir_desktop.canvas.imageconv import pil_to_qimage


class Page(Protocol):
    """What the query input needs of the canvas (``SketchCanvas``)."""

    def set_image(self, image: QImage, path: Path | None = None) -> None: ...

    def sketch_image(self) -> QImage: ...


class QueryInput(QObject):
    """Puts pictures on ``canvas`` (whose ``changed`` starts the search); bad input is reported
    through ``error`` and leaves the canvas as it was."""

    error = Signal(str)
    status = Signal(str, int)  # status bar message, milliseconds
    folders_dropped = Signal(object)  # [Path]: folders to add to the library

    def __init__(self, canvas: Page, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas

    def load_image(self, path: Path) -> bool:
        """Put the picture at ``path`` on the canvas as the query; False (and a message) for a bad file."""
        from zssbir_core.api import open_image

        try:
            picture = open_image(path)
        except ZssbirError as error:
            self.error.emit(f"This image cannot be used: {error}")
            return False
        self.canvas.set_image(pil_to_qimage(picture), Path(path))
        return True

    def paste(self) -> bool:
        """Use the clipboard's image (or the image file whose path it holds); False when it has none."""
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        image = clipboard.image()
        if not image.isNull():
            self.canvas.set_image(image)
            return True
        if mime is not None and mime.hasUrls() and mime.urls()[0].isLocalFile():
            return self.load_image(Path(mime.urls()[0].toLocalFile()))
        self.status.emit("The clipboard holds no image.", 5000)
        return False

    @staticmethod
    def accepts(mime: QMimeData) -> bool:
        """Whether a drag carries something to drop: an image, or local files or folders."""
        return mime.hasImage() or (mime.hasUrls() and any(url.isLocalFile() for url in mime.urls()))

    def drop(self, mime: QMimeData) -> None:
        """Dropped folders go to the library; else the first dropped file (or image) becomes the query."""
        paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []
        folders = [p for p in paths if p.is_dir()]
        files = [p for p in paths if p.is_file()]
        if folders:
            self.folders_dropped.emit(folders)
        elif files:
            self.load_image(files[0])
        elif not paths and mime.hasImage():
            self.canvas.set_image(QImage(mime.imageData()))

    def save_sketch_to(self, path: Path) -> bool:
        """Write the canvas (at the model's size, 256 px) to ``path`` as a PNG; a failure is reported."""
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        if not self.canvas.sketch_image().save(str(path), "PNG"):  # type: ignore[call-overload]  # str works, bytes not
            self.error.emit(f"The sketch could not be saved to {path} (is the disk full or the folder read-only?)")
            return False
        self.status.emit(f"Saved {path}", 5000)
        return True
