"""The library panel: watched folders with photo counts, add/remove/re-scan, indexing progress."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from zssbir_core.api import IndexProgress


def format_duration(seconds: float | None) -> str:
    """A short human duration: "45 s", "3 min 20 s", "1 h 05 min"."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class SkippedFilesDialog(QDialog):
    """A table of files that were not indexed and why."""

    def __init__(self, skipped: Sequence[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Skipped files")
        self.table = QTableWidget(len(skipped), 2, self)
        self.table.setHorizontalHeaderLabels(["File", "Reason"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (path, reason) in enumerate(skipped):
            self.table.setItem(row, 0, QTableWidgetItem(str(path)))
            self.table.setItem(row, 1, QTableWidgetItem(reason))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{len(skipped)} file(s) could not be indexed:"))
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(720, 380)


class LibraryPanel(QWidget):
    """Shows the watched folders and the state of indexing; asks the window to act via signals."""

    add_requested = Signal()
    remove_requested = Signal(str)
    rescan_requested = Signal()
    cancel_requested = Signal()
    skipped_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("libraryPanel")
        self.folder_list = QListWidget()
        self.folder_list.setObjectName("folderList")
        self.folder_list.setAccessibleName("Library folders")
        self.folder_list.setToolTip("Folders whose photos are searched")
        self.folder_list.currentItemChanged.connect(self._update_buttons)
        self.folder_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.folder_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.folder_list.setSpacing(3)
        self._folder_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon)
        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip("Add a folder of photos (you can also drop a folder onto the window)")
        self.add_button.clicked.connect(self.add_requested)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Stop searching this folder (the photos themselves are not touched)")
        self.remove_button.clicked.connect(self._remove_current)
        self.rescan_button = QPushButton("Re-scan")
        self.rescan_button.setToolTip("Look for new, changed and deleted photos")
        self.rescan_button.clicked.connect(self.rescan_requested)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.rescan_button):
            buttons.addWidget(button)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("indexingProgress")
        self.progress_label = QLabel()
        self.progress_label.setWordWrap(True)
        self.progress_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop indexing; what is done so far is kept and searchable")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.skipped_button = QPushButton()
        self.skipped_button.setFlat(True)
        self.skipped_button.setToolTip("Show the files that could not be indexed and why")
        self.skipped_button.clicked.connect(self.skipped_requested)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.folder_list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.summary)
        layout.addLayout(progress_row)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.skipped_button)
        self.set_indexing(False)
        self.set_folders([])
        self.set_skipped_count(0)

    def set_folders(self, folders: Sequence[tuple[str, int]]) -> None:
        """Show (path, photo count) rows, keeping the selection where possible."""
        current = self.current_folder()
        self.folder_list.clear()
        for path, count in folders:
            item = QListWidgetItem(
                self._folder_icon,
                f"{Path(path).name or path}\n{count} photo{'s' if count != 1 else ''} · {path}",
            )
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setToolTip(str(path))
            self.folder_list.addItem(item)
            if str(path) == current:
                self.folder_list.setCurrentItem(item)
        total = sum(count for _path, count in folders)
        self.summary.setText(
            f"{total} photo{'s' if total != 1 else ''} in {len(folders)} folder{'s' if len(folders) != 1 else ''}"
            if folders
            else "No folders yet: add one to start."
        )
        self._update_buttons()

    def current_folder(self) -> str | None:
        """The selected folder's path."""
        item = self.folder_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _remove_current(self) -> None:
        folder = self.current_folder()
        if folder:
            self.remove_requested.emit(folder)

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.current_folder() is not None)
        self.rescan_button.setEnabled(self.folder_list.count() > 0 and not self.cancel_button.isVisible())

    def set_indexing(self, running: bool, message: str = "") -> None:
        """Show or hide the progress row; ``message`` is shown in its place when it ends."""
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.progress_label.setText(message)
        self.progress_label.setVisible(bool(message) or running)
        if running:
            self.progress.setRange(0, 0)
        self._update_buttons()

    def show_progress(self, event: IndexProgress) -> None:
        """Update the bar and the line below it (rate in photos per second, eta in seconds)."""
        done, total, rate, eta, current, phase = event.done, event.total, event.rate, event.eta, event.current, event.phase
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
            self.progress.setFormat(f"{done} / {total}")
        else:
            self.progress.setRange(0, 0)
        parts = [phase.capitalize()] if phase else []
        if rate:
            parts.append(f"{rate:.1f} photos/s")
        if total and eta is not None:
            parts.append(f"{format_duration(eta)} left")
        text = " · ".join(parts)
        if current:
            text += f"\n{Path(current).name}"
        self.progress_label.setText(text)

    def set_cancelling(self) -> None:
        """The user pressed Cancel: say so until the worker stops."""
        self.cancel_button.setEnabled(False)
        self.progress_label.setText("Stopping…")

    def set_skipped_count(self, count: int) -> None:
        """Show "N skipped files…" when there are any."""
        self.skipped_button.setText(f"{count} skipped file{'s' if count != 1 else ''}…")
        self.skipped_button.setVisible(count > 0)
