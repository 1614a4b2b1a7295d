"""The window's frame: the canvas beside the results under the message bar, the library dock on the
left, and the model's state in the status bar."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QProgressBar, QSplitter, QVBoxLayout, QWidget

from zssbir_desktop.canvas.sketch_canvas import SketchCanvas
from zssbir_desktop.library.panel import LibraryPanel
from zssbir_desktop.window.message_bar import MessageBar


def build_central(window: QMainWindow, message_bar: MessageBar, canvas: SketchCanvas, results: QWidget) -> QSplitter:
    """The message bar above the canvas (with its hint) and ``results`` side by side."""
    canvas_box = QWidget()
    canvas_layout = QVBoxLayout(canvas_box)
    canvas_layout.setContentsMargins(0, 0, 0, 0)
    canvas_layout.addWidget(canvas, 1)
    hint = QLabel("Draw with the mouse or a pen. Results follow each stroke.")
    hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
    hint.setWordWrap(True)  # so that the canvas side can narrow below the sentence's width
    canvas_layout.addWidget(hint)
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.setObjectName("mainSplitter")
    splitter.addWidget(canvas_box)
    splitter.addWidget(results)
    splitter.setStretchFactor(0, 1)
    splitter.setStretchFactor(1, 1)
    splitter.setSizes([2, 3])  # scaled to the width: a 1,280 px window has room for three columns of results
    central = QWidget()
    layout = QVBoxLayout(central)
    layout.setContentsMargins(6, 6, 6, 6)
    layout.addWidget(message_bar)
    layout.addWidget(splitter, 1)
    window.setCentralWidget(central)
    return splitter


def build_library_dock(window: QMainWindow, panel: LibraryPanel) -> QDockWidget:
    """``panel`` in a movable, closable dock on the left, 280 px wide."""
    dock = QDockWidget("Library", window)
    dock.setObjectName("libraryDock")
    dock.setWidget(panel)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    window.resizeDocks([dock], [280], Qt.Orientation.Horizontal)
    return dock


class ModelState:
    """The status bar's right end: "Searching…", a busy bar while the model loads, the model's name."""

    def __init__(self, window: QMainWindow) -> None:
        self.model_label = QLabel("Model: not loaded")
        self.model_label.setObjectName("modelState")
        self.model_busy = QProgressBar()
        self.model_busy.setRange(0, 0)
        self.model_busy.setMaximumWidth(90)
        self.model_busy.setMaximumHeight(14)
        self.model_busy.hide()
        self.search_label = QLabel()
        for widget in (self.search_label, self.model_busy, self.model_label):
            window.statusBar().addPermanentWidget(widget)

    def show_model(self, text: str, busy: bool) -> None:
        """``text`` about the model; the busy bar while it loads or downloads."""
        self.model_label.setText(text)
        self.model_busy.setVisible(busy)

    def show_searching(self, busy: bool) -> None:
        """Say "Searching…" while a search runs."""
        self.search_label.setText("Searching…" if busy else "")
