"""The larger preview of the hovered or selected result: picture, path, date and score."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from zssbir_core.paths import display_path

PREVIEW_SIZE = 360


class PreviewPanel(QWidget):
    """Shows one result; the picture comes from the thumbnail loader at a larger size."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewPanel")
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(160, 160)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.details)
        self._pixmap: QPixmap | None = None
        self.show_nothing()

    def show_nothing(self) -> None:
        """Empty state: a hint instead of a picture."""
        self._pixmap = None
        self.picture.setPixmap(QPixmap())
        self.picture.setText("Hover over or select a result to see it larger")
        self.details.setText("")

    def show_result(self, path: Path, score: float, date_text: str, pixmap: QPixmap | None) -> None:
        """Show a result; ``pixmap`` may be None while the larger picture loads."""
        self.details.setText(
            f"<b>{display_path(Path(path).name)}</b><br>{display_path(Path(path).parent)}<br>{date_text}"
            f"<br>score {score:.3f}"
        )
        self.details.setToolTip(display_path(path))
        self.set_pixmap(pixmap)

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        """Replace the picture (None shows "Loading…")."""
        self._pixmap = pixmap
        if pixmap is None:
            self.picture.setPixmap(QPixmap())
            self.picture.setText("Loading…")
        else:
            self._fit()

    def _fit(self) -> None:
        if self._pixmap is not None:
            self.picture.setPixmap(
                self._pixmap.scaled(
                    self.picture.size(),
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()
