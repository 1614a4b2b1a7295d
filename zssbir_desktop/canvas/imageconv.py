"""Conversions between Qt images and PIL images (the core speaks PIL, the widgets speak Qt)."""

from __future__ import annotations

from PIL import Image
from PySide6.QtGui import QImage


def qimage_to_pil(image: QImage) -> Image.Image:
    """An RGB PIL copy of ``image`` (any format; alpha is composited on white by the caller)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    data = bytes(rgb.constBits())[: stride * height]
    return Image.frombuffer("RGB", (width, height), data, "raw", "RGB", stride, 1).copy()


def pil_to_qimage(image: Image.Image) -> QImage:
    """A QImage that owns a copy of the pixels of ``image`` (safe to build off the GUI thread)."""
    rgb = image.convert("RGB")
    data = rgb.tobytes("raw", "RGB")
    qimage = QImage(data, rgb.width, rgb.height, rgb.width * 3, QImage.Format.Format_RGB888)
    return qimage.copy()
