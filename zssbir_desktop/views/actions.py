"""The main window's actions (with their shortcuts, tips and icons), its menus and its toolbar."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QDockWidget, QLabel, QMainWindow, QSpinBox, QToolBar

from zssbir_desktop.canvas import SketchCanvas
from zssbir_desktop.controllers.library_control import LibraryControl
from zssbir_desktop.controllers.query_input import QueryInput
from zssbir_desktop.controllers.result_actions import ResultActions
from zssbir_desktop.controllers.search_session import SearchSession
from zssbir_desktop.error_log import log_file
from zssbir_desktop.file_manager import open_with_system
from zssbir_desktop.views.dialogs import Dialogs

Shortcut = QKeySequence | QKeySequence.StandardKey | str


def tool_icon(name: str, fallback: str) -> QIcon:
    """The project's icon ``name``.svg, else the desktop theme's ``fallback`` icon."""
    try:
        from zssbir_desktop.resources_path import resource_file

        return QIcon(str(resource_file(f"{name}.svg")))
    except (ImportError, FileNotFoundError, ModuleNotFoundError):
        return QIcon.fromTheme(fallback)


def make_action(window: QMainWindow, text: str, slot: Callable[..., Any], shortcuts: list[Shortcut] | None = None,
                tip: str = "", icon: QIcon | None = None) -> QAction:
    """An action of ``window`` (its shortcuts work anywhere in it) whose tooltip names its keys."""
    action = QAction(text, window)
    if icon is not None:
        action.setIcon(icon)
    if shortcuts:
        sequences: list[QKeySequence] = []
        for shortcut in shortcuts:
            if isinstance(shortcut, QKeySequence.StandardKey):
                sequences.extend(QKeySequence.keyBindings(shortcut))
            else:
                sequences.append(QKeySequence(shortcut))
        unique = list(dict.fromkeys(s.toString() for s in sequences if not s.isEmpty()))
        action.setShortcuts([QKeySequence(s) for s in unique])
    if tip or action.shortcut():
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip or text.replace('&', '').rstrip('…')}" + (f" ({keys})" if keys else ""))
    action.triggered.connect(lambda _checked=False: slot())
    window.addAction(action)
    return action


@dataclass
class WindowActions:
    """Every action of the main window."""

    open: QAction
    paste: QAction
    save: QAction
    add_folder: QAction
    rescan: QAction
    settings: QAction
    quit: QAction
    undo: QAction
    redo: QAction
    clear: QAction
    pen: QAction
    eraser: QAction
    thicker: QAction
    thinner: QAction
    open_result: QAction
    reveal: QAction
    copy_path: QAction
    similar: QAction
    more: QAction
    focus_canvas: QAction
    focus_results: QAction
    preview: QAction
    library_toggle: QAction
    open_log: QAction
    about: QAction


class ActionHost(Protocol):
    """What the actions connect to: the main window's widgets, controllers and slots."""

    canvas: SketchCanvas
    library_dock: QDockWidget
    results_view: QAbstractItemView
    width_spin: QSpinBox
    dialogs: Dialogs
    query: QueryInput
    library: LibraryControl
    result_actions: ResultActions
    session: SearchSession

    def open_settings(self) -> None: ...

    def set_eraser(self, on: bool) -> None: ...

    def focus_results(self) -> None: ...

    def close(self) -> bool: ...

    def addActions(self, actions: Sequence[QAction]) -> None: ...


def build_actions(w: ActionHost) -> WindowActions:
    """The actions of ``w``, connected to its controllers and slots."""
    Key = QKeySequence.StandardKey
    undo = w.canvas.undo_stack.createUndoAction(w, "&Undo")
    undo.setShortcuts(QKeySequence.keyBindings(Key.Undo))
    undo.setIcon(tool_icon("undo", "edit-undo"))
    undo.setToolTip("Undo the last stroke (Ctrl+Z)")
    redo = w.canvas.undo_stack.createRedoAction(w, "&Redo")
    redo_keys = [*QKeySequence.keyBindings(Key.Redo), QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")]
    redo.setShortcuts([QKeySequence(s) for s in dict.fromkeys(k.toString() for k in redo_keys)])
    redo.setIcon(tool_icon("redo", "edit-redo"))
    redo.setToolTip("Redo (Ctrl+Shift+Z or Ctrl+Y)")
    w.addActions([undo, redo])
    library_toggle = w.library_dock.toggleViewAction()
    library_toggle.setShortcut(QKeySequence("Ctrl+Shift+L"))
    actions = WindowActions(
        open=make_action(w, "&Open Image…", w.dialogs.open_image, [Key.Open], "Search with an image file", tool_icon("open", "document-open")),
        paste=make_action(w, "&Paste Image", w.query.paste, [Key.Paste], "Search with the image on the clipboard"),
        save=make_action(w, "&Save Sketch…", w.dialogs.save_sketch, [Key.Save], "Save the sketch as a PNG file",
                         tool_icon("save", "document-save")),
        add_folder=make_action(w, "&Add Folder…", w.dialogs.choose_folder, ["Ctrl+Shift+O"], "Add a folder of photos",
                               tool_icon("folder-add", "folder-new")),
        rescan=make_action(w, "&Re-scan Library", w.library.start_indexing, ["F5"], "Look for new, changed and deleted photos"),
        settings=make_action(w, "Se&ttings…", w.open_settings, [Key.Preferences, "Ctrl+,"], "Settings",
                             tool_icon("settings", "preferences-system")),
        quit=make_action(w, "&Quit", w.close, [Key.Quit, "Ctrl+Q"], "Quit zssbir"),
        undo=undo,
        redo=redo,
        clear=make_action(w, "&Clear Canvas", w.canvas.clear, ["Ctrl+Backspace", "Ctrl+Delete"], "Clear the canvas",
                          tool_icon("clear", "edit-clear")),
        pen=make_action(w, "&Pen", lambda: w.set_eraser(False), ["P"], "Pen: draw black strokes", tool_icon("pen", "draw-freehand")),
        eraser=make_action(w, "&Eraser", lambda: w.set_eraser(True), ["E"], "Eraser: rub out strokes",
                           tool_icon("eraser", "draw-eraser")),
        thicker=make_action(w, "&Thicker Stroke", lambda: w.width_spin.stepUp(), ["]"], "Thicker stroke"),
        thinner=make_action(w, "T&hinner Stroke", lambda: w.width_spin.stepDown(), ["["], "Thinner stroke"),
        open_result=make_action(w, "&Open Photo", w.result_actions.open_chosen, [], "Open with the system's viewer (Enter)"),
        reveal=make_action(w, "Show in &File Manager", w.result_actions.reveal_chosen, ["Ctrl+Shift+R"],
                           "Show the photo in the file manager"),
        copy_path=make_action(w, "&Copy Path", w.result_actions.copy_paths, ["Ctrl+Shift+C"], "Copy the photo's path"),
        similar=make_action(w, "Find &Similar", w.result_actions.find_similar, ["Ctrl+Shift+F"],
                            "Search with this photo as the query", tool_icon("find-similar", "edit-find")),
        more=make_action(w, "Show &More", w.session.show_more, ["Ctrl+M"], "Show the next page of results"),
        focus_canvas=make_action(w, "Focus &Canvas", w.canvas.setFocus, ["Ctrl+1"], "Move the keyboard focus to the canvas"),
        focus_results=make_action(w, "Focus &Results", w.focus_results, ["Ctrl+2", "F6"], "Move the keyboard focus to the results"),
        preview=make_action(w, "&Preview", lambda: None, ["Ctrl+Shift+P"],
                            "Show the hovered or selected result larger below the results"),
        library_toggle=library_toggle,
        open_log=make_action(w, "Open &Log Folder", lambda: open_with_system(log_file().parent), [],
                             "Open the folder with zssbir's log file"),
        about=make_action(w, "&About zssbir", w.dialogs.show_about, [], "About zssbir"),
    )
    tools = QActionGroup(w)
    for action in (actions.pen, actions.eraser):
        action.setCheckable(True)
        tools.addAction(action)
    actions.pen.setChecked(True)
    actions.preview.setCheckable(True)
    w.results_view.addActions([actions.open_result, actions.reveal, actions.copy_path, actions.similar])
    return actions


def build_menus(window: QMainWindow, a: WindowActions) -> None:
    """File, Edit, Results, View and Help."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addActions([a.open, a.paste, a.save])
    file_menu.addSeparator()
    file_menu.addActions([a.add_folder, a.rescan])
    file_menu.addSeparator()
    file_menu.addActions([a.settings, a.quit])
    edit_menu = bar.addMenu("&Edit")
    edit_menu.addActions([a.undo, a.redo, a.clear])
    edit_menu.addSeparator()
    edit_menu.addActions([a.pen, a.eraser, a.thicker, a.thinner])
    bar.addMenu("&Results").addActions([a.open_result, a.reveal, a.copy_path, a.similar, a.more])
    bar.addMenu("&View").addActions([a.focus_canvas, a.focus_results, a.preview, a.library_toggle])
    bar.addMenu("&Help").addActions([a.open_log, a.about])


def build_toolbar(window: QMainWindow, a: WindowActions, width_spin: QSpinBox) -> QToolBar:
    """The drawing toolbar: pen and eraser, stroke width, undo, files, find similar, folders, settings."""
    toolbar = QToolBar("Drawing")
    toolbar.setObjectName("drawingToolbar")
    toolbar.setIconSize(QSize(22, 22))
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    toolbar.addActions([a.pen, a.eraser])
    toolbar.addWidget(QLabel(" Width "))
    toolbar.addWidget(width_spin)
    toolbar.addSeparator()
    toolbar.addActions([a.undo, a.redo, a.clear])
    toolbar.addSeparator()
    toolbar.addActions([a.open, a.save])
    toolbar.addSeparator()
    toolbar.addActions([a.similar, a.add_folder, a.settings])
    window.addToolBar(toolbar)
    return toolbar


def stroke_width_spin(canvas: SketchCanvas, settings: QSettings) -> QSpinBox:
    """The toolbar's stroke width box: sets the canvas's pen width and remembers it in ``settings``."""
    spin = QSpinBox()
    spin.setObjectName("strokeWidth")
    spin.setRange(1, 40)
    spin.setValue(int(settings.value("canvas/width", 4)))
    spin.setSuffix(" px")
    spin.setToolTip("Stroke width ([ and ])")
    canvas.pen_width = float(spin.value())

    def changed(value: int) -> None:
        canvas.pen_width = float(value)
        settings.setValue("canvas/width", value)

    spin.valueChanged.connect(changed)
    return spin
