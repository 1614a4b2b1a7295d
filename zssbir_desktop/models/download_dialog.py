"""A model's weights download: its progress dialog, with Cancel, shown while the download runs."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

from zssbir_desktop.models.loading import ModelLoading


class DownloadDialog(QProgressDialog):
    """Window-modal progress of the download of ``name``'s weights; ``canceled`` asks to stop it."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        self.title = f"Downloading the {name} weights"
        super().__init__(f"{self.title}…", "Cancel", 0, 0, parent)
        self.setWindowTitle("Downloading model")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)

    def show_progress(self, done: int, total: int) -> None:
        """``done`` of ``total`` bytes (total 0: unknown)."""
        if total:
            self.setRange(0, total)
            self.setValue(min(done, total))
        self.setLabelText(f"{self.title}… {done / 1e6:.1f}" + (f" of {total / 1e6:.1f} MB" if total else " MB"))


class DownloadDialogs(QObject):
    """Shows a ``DownloadDialog`` while ``loading`` downloads weights; ``dialog`` is the open one."""

    def __init__(self, loading: ModelLoading, parent: QWidget) -> None:
        super().__init__(parent)
        self.loading = loading
        self.dialog: DownloadDialog | None = None
        loading.download_started.connect(self._open)
        loading.download_finished.connect(self._close)

    def _open(self) -> None:
        self._close()
        self.dialog = DownloadDialog(self.loading.download_name(), self.parent())  # type: ignore[arg-type]
        self.dialog.canceled.connect(self.loading.cancel_download)
        self.loading.engine.download_progress.connect(self.dialog.show_progress)
        self.dialog.show()

    def _close(self) -> None:
        if self.dialog is not None:
            self.loading.engine.download_progress.disconnect(self.dialog.show_progress)
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None
