"""The Fine-tuning page of an installation without training (no PyTorch): one line saying how to
add it, and a button that copies the command."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from zssbir_core.api import training_install_command


class TrainingNotInstalled(QWidget):
    """Says that fine-tuning needs the ``train`` extra; ``copy_button`` copies the install command."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.command = training_install_command()
        self.label = QLabel(f"Fine-tuning needs PyTorch, which this installation leaves out. To add it, run: "
                            f"<code>{self.command}</code>")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_button = QPushButton("Copy command")
        self.copy_button.clicked.connect(self.copy_command)
        row = QHBoxLayout()
        row.addWidget(self.copy_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addLayout(row)
        layout.addStretch(1)

    def copy_command(self) -> None:
        QGuiApplication.clipboard().setText(self.command)
        self.copy_button.setText("Copied")
