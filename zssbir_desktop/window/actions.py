"""The main window's actions (made with their shortcuts, tips and icons by ``make_action``; the
window connects them), its menus and its toolbar."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QSpinBox, QToolBar

from zssbir_desktop.canvas.sketch_canvas import SketchCanvas

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
    spin.setValue(int(str(settings.value("canvas/width", round(canvas.pen_width)))))
    spin.setSuffix(" px")
    spin.setToolTip("Stroke width ([ and ])")
    canvas.pen_width = float(spin.value())

    def changed(value: int) -> None:
        canvas.pen_width = float(value)
        settings.setValue("canvas/width", value)

    spin.valueChanged.connect(changed)
    return spin
