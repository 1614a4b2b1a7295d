"""Result actions: open the chosen photo in the system's viewer, show it in the file manager, copy
the paths of the chosen photos, search with a photo as the query ("find similar"), and refine the
search with the chosen photos ("more like this", "not this", undo)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QModelIndex, QObject, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QWidget

from zssbir_desktop.results.file_manager import open_with_system, show_in_file_manager
from zssbir_desktop.results.model import PathRole, PhotoIdRole


class ResultActions(QObject):
    """Acts on the current (or selected) result of ``view``, a view over a ``ResultsModel``."""

    similar_requested = Signal(int, object)  # photo id, its path (None if unknown)
    feedback_given = Signal(object, object)  # photo ids liked ("more like this"), disliked ("not this")
    error = Signal(str)
    status = Signal(str, int)  # status bar message, milliseconds

    def __init__(self, view: QAbstractItemView, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view

    def chosen(self) -> QModelIndex:
        """The current result, else the first selected one (invalid when there is none)."""
        index = self.view.currentIndex()
        if not index.isValid():
            selected = self.view.selectionModel().selectedIndexes()
            index = selected[0] if selected else QModelIndex()
        return index

    def open(self, index: QModelIndex) -> None:
        """Open the result at ``index`` with the system's viewer."""
        path = index.data(PathRole)
        if path and not open_with_system(Path(path)):
            self.error.emit(f"No application could open {path}.")

    def open_chosen(self) -> None:
        """Open the chosen result with the system's viewer."""
        self.open(self.chosen())

    def reveal_chosen(self) -> None:
        """Show the chosen result in the file manager."""
        path = self.chosen().data(PathRole)
        if path and not show_in_file_manager(Path(path)):
            self.error.emit(f"The file manager could not be opened for {path}.")

    def chosen_ids(self) -> list[int]:
        """The photo ids of the selected results, else of the current one."""
        indexes = self.view.selectionModel().selectedIndexes() or [self.chosen()]
        return [int(i.data(PhotoIdRole)) for i in indexes if i.isValid()]

    def give_feedback(self, liked: bool) -> None:
        """Mark the chosen results "more like this" (``liked``) or "not this": one refining round."""
        ids = self.chosen_ids()
        if not ids:
            self.status.emit("Select a result first.", 4000)
            return
        self.feedback_given.emit(ids if liked else [], [] if liked else ids)

    def copy_paths(self) -> list[str]:
        """Copy the selected results' paths to the clipboard, one a line; returns them."""
        indexes = self.view.selectionModel().selectedIndexes() or [self.chosen()]
        paths = [str(i.data(PathRole)) for i in indexes if i.isValid()]
        if paths:
            QGuiApplication.clipboard().setText("\n".join(paths))
            self.status.emit("Path copied", 3000)
        return paths

    def find_similar(self, photo_id: int | None = None) -> None:
        """Ask to search with the chosen result (or the shown result ``photo_id``) as the query."""
        if photo_id is None:
            index = self.chosen()
            if not index.isValid():
                self.status.emit("Select a result first.", 4000)
                return
            self.similar_requested.emit(int(index.data(PhotoIdRole)), Path(index.data(PathRole)))
            return
        model = self.view.model()
        rows = (model.index(row, 0) for row in range(model.rowCount()))
        path = next((Path(i.data(PathRole)) for i in rows if i.data(PhotoIdRole) == photo_id), None)
        self.similar_requested.emit(int(photo_id), path)


FEEDBACK_KEYS = {"more": "Ctrl+Shift+Y", "not": "Ctrl+Shift+N", "undo": "Ctrl+Shift+U"}
"""Yes / No / Undo: keys that no other action of the window uses (README, "The app")."""


def feedback_actions(window: QWidget, actions: ResultActions, undo: Callable[[], None]) -> list[QAction]:
    """"More Like This", "Not This" and "Undo Refine" as actions of ``window`` (their keys work anywhere
    in it) and of the results' right-click menu; ``undo`` takes back the last round."""
    made = []
    for text, key, tip, slot in (
        ("More &Like This", "more", "Refine: move the search towards the chosen photos", lambda: actions.give_feedback(True)),
        ("&Not This", "not", "Refine: move the search away from the chosen photos", lambda: actions.give_feedback(False)),
        ("&Undo Refine", "undo", "Take back the last \"more like this\" or \"not this\"", undo),
    ):
        action = QAction(text, window)
        action.setShortcut(QKeySequence(FEEDBACK_KEYS[key]))
        action.setToolTip(f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
        action.triggered.connect(lambda _checked=False, slot=slot: slot())
        window.addAction(action)
        made.append(action)
    actions.view.addActions(made)
    return made
