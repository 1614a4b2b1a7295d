"""A message strip at the top of the window: model state, offline notice, readable errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

KIND_COLORS = {"info": "#2f6fb3", "warning": "#b07d12", "error": "#b3372f", "busy": "#2f6fb3"}


class MessageBar(QFrame):
    """Shows one message with optional action buttons and a close button; hidden when empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.label = QLabel()
        self.label.setObjectName("messageText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._buttons: list[QPushButton] = []
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss this message")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.dismiss)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 6, 6, 6)
        self._layout.addWidget(self.label, 1)
        self._layout.addWidget(self.close_button)
        self.kind = ""
        self.hide()

    def show_message(
        self,
        text: str,
        kind: str = "info",
        actions: Sequence[tuple[str, Callable[[], None]]] = (),
        closable: bool = True,
    ) -> None:
        """Replace the current message. ``actions`` are (button text, callback) pairs."""
        for button in self._buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self._buttons = []
        self.kind = kind
        self.label.setText(text)
        for index, (title, callback) in enumerate(actions):
            button = QPushButton(title)
            button.clicked.connect(callback)
            self._layout.insertWidget(1 + index, button)
            self._buttons.append(button)
        self.close_button.setVisible(closable)
        palette = self.palette()
        accent = QColor(KIND_COLORS.get(kind, KIND_COLORS["info"]))
        base = palette.color(QPalette.ColorRole.Base)
        mixed = QColor(
            (accent.red() + 3 * base.red()) // 4,
            (accent.green() + 3 * base.green()) // 4,
            (accent.blue() + 3 * base.blue()) // 4,
        )
        palette.setColor(QPalette.ColorRole.Window, mixed)
        self.setPalette(palette)
        self.show()

    def text(self) -> str:
        """The message shown now ('' when hidden)."""
        return self.label.text() if self.isVisible() else ""

    def button_texts(self) -> list[str]:
        """The action buttons' texts."""
        return [button.text() for button in self._buttons]

    def trigger(self, title: str) -> None:
        """Press the action button called ``title`` (keyboard users and tests)."""
        for button in self._buttons:
            if button.text() == title:
                button.click()
                return
        raise KeyError(title)

    def dismiss(self) -> None:
        """Hide the message."""
        self.kind = ""
        self.hide()
