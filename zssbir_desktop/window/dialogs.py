"""The window's small dialogs: file choosers that hand what was chosen to a controller, and About."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImageReader
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from zssbir_desktop.canvas.query_input import QueryInput
from zssbir_desktop.library.control import LibraryControl
from zssbir_desktop.models.loading import ModelLoading


class Dialogs:
    """Open an image to search with, save the sketch, add a folder, choose a model file or folder, About."""

    def __init__(self, parent: QWidget, query: QueryInput, library: LibraryControl, models: ModelLoading) -> None:
        self.parent = parent
        self.query = query
        self.library = library
        self.models = models

    def open_image(self) -> None:
        """Search with an image file."""
        formats = " ".join(f"*.{bytes(f.data()).decode()}" for f in QImageReader.supportedImageFormats())
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open an image to search with", "", f"Images ({formats})")
        if path:
            self.query.load_image(Path(path))

    def save_sketch(self) -> None:
        """Save the canvas as a PNG file."""
        path, _ = QFileDialog.getSaveFileName(self.parent, "Save sketch", "sketch.png", "PNG image (*.png)")
        if path:
            self.query.save_sketch_to(Path(path))

    def choose_folder(self) -> None:
        """Ask for a folder of photos and add it."""
        folder = QFileDialog.getExistingDirectory(self.parent, "Add a folder of photos")
        if folder:
            self.library.add_folder(Path(folder))

    def choose_weights_file(self) -> None:
        """Ask for a weights file of the model that downloads its weights and use it from now on."""
        path, _ = QFileDialog.getOpenFileName(self.parent, f"{self.models.download_name()} weights file", "",
                                              "PyTorch weights (*.pth *.pt)")
        if path:
            self.models.use_weights_file(path)

    def choose_checkpoint(self) -> None:
        """Ask for a trained checkpoint folder and use it from now on."""
        folder = QFileDialog.getExistingDirectory(self.parent, "Trained model (checkpoint folder)")
        if folder:
            self.models.use_checkpoint(folder)

    def show_about(self) -> None:
        """A short About box."""
        from zssbir_core.api import __version__

        QMessageBox.about(self.parent, "About zssbir", f"<b>zssbir {__version__}</b><p>Find your photos by drawing them: "
                          "zero-shot sketch-based image retrieval (Tursun et al. 2022) on your own computer.</p>")
