"""The folder filter button above the results: its menu checks the folders to search."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

ALL_FOLDERS = "All folders"


class FolderButton(QToolButton):
    """Shows which folders are searched; choosing in its menu emits ``chosen`` (empty: all)."""

    chosen = Signal(object)  # frozenset of folders

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setText(ALL_FOLDERS)
        self.setToolTip("Search only some of the library's folders")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.folder_menu = QMenu(self)
        self.setMenu(self.folder_menu)
        self._chosen: frozenset[str] = frozenset()

    def set_folders(self, folders: Iterable[str]) -> None:
        """List ``folders`` in the menu, keeping the chosen ones checked."""
        self.folder_menu.clear()
        every = self.folder_menu.addAction(ALL_FOLDERS)
        every.setCheckable(True)
        every.triggered.connect(lambda: self.chosen.emit(frozenset()))
        self.folder_menu.addSeparator()
        for folder in folders:
            action = self.folder_menu.addAction(folder)
            action.setCheckable(True)
            action.toggled.connect(lambda on, f=folder: self._toggle(f, on))
        self.show_chosen(self._chosen)

    def show_chosen(self, folders: frozenset[str]) -> None:
        """Check ``folders`` (none: "All folders") and name them on the button."""
        self._chosen = frozenset(folders)
        for action in self.folder_menu.actions():
            if action.isCheckable():
                action.blockSignals(True)
                action.setChecked(action.text() in self._chosen or (action.text() == ALL_FOLDERS and not self._chosen))
                action.blockSignals(False)
        count = len(self._chosen)
        self.setText(ALL_FOLDERS if not count else (Path(next(iter(self._chosen))).name if count == 1 else f"{count} folders"))

    def _toggle(self, folder: str, on: bool) -> None:
        self.chosen.emit(self._chosen | {folder} if on else self._chosen - {folder})
