"""The main window: it builds the features (canvas, search, results, library, models, settings),
connects their signals and its actions, and does nothing else itself."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Signal
from PySide6.QtGui import QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QMainWindow

from zssbir_desktop.canvas.query_input import QueryInput
from zssbir_desktop.canvas.sketch_canvas import SketchCanvas
from zssbir_desktop.engine import Engine
from zssbir_desktop.error_log import log_file
from zssbir_desktop.library.control import LibraryControl
from zssbir_desktop.library.panel import LibraryPanel, SkippedFilesDialog
from zssbir_desktop.models import loading as model_loading
from zssbir_desktop.models.download_dialog import DownloadDialogs
from zssbir_desktop.models.loading import ModelLoading, Offer
from zssbir_desktop.results.actions import ResultActions, feedback_actions
from zssbir_desktop.results.file_manager import open_with_system
from zssbir_desktop.results.model import ResultsModel
from zssbir_desktop.results.pane import ResultsPane
from zssbir_desktop.results.thumbnails import ThumbnailLoader
from zssbir_desktop.search.session import SearchSession
from zssbir_desktop.settings.dialog import SettingsDialog, choices_here
from zssbir_desktop.settings.preferences import Preferences, PreferencesStore
from zssbir_desktop.window.actions import WindowActions, build_menus, build_toolbar, make_action, stroke_width_spin, tool_icon
from zssbir_desktop.window.dialogs import Dialogs
from zssbir_desktop.window.frame import ModelState, build_central, build_library_dock
from zssbir_desktop.window.message_bar import MessageBar

log = logging.getLogger("zssbir.desktop")


class MainWindow(QMainWindow):
    """The app's one window. ``start()`` opens the library and loads the model in the background.

    Extension points: ``settings_pages`` holds callables that add pages to the settings dialog
    (``lambda dialog: dialog.add_page(widget, "Fine-tuning")``); ``close_guards`` holds callables
    that may veto closing (return False), e.g. to ask whether to stop a training run.
    """

    results_shown = Signal(int)

    def __init__(self, engine: Engine, prefs: Preferences, library_dir: Path, settings: QSettings | None = None,
                 apply_theme: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("zssbir — find photos by drawing")
        self.engine = engine
        self.settings = settings or QSettings()
        self.preferences = PreferencesStore(prefs, self.settings, self)
        self._apply_theme = apply_theme
        self.settings_pages: list[Callable[[SettingsDialog], None]] = []
        self.close_guards: list[Callable[[], bool]] = []

        self.library = LibraryControl(engine, self.preferences, Path(library_dir), self)  # a new library first,
        self.models = ModelLoading(engine, self.preferences, self)  # then the model it asks for
        self.thumbnails = ThumbnailLoader(engine.thumbnail_image, parent=self)
        self.results_model = ResultsModel(self.thumbnails, prefs.thumbnail_size, self)
        self._build_layout()
        self.session = SearchSession(engine, self.canvas, prefs.results_count, self.results_model, self)
        self.query = QueryInput(self.canvas, self)
        self.result_actions = ResultActions(self.results_pane.results_view, self)
        self.dialogs = Dialogs(self, self.query, self.library, self.models)
        self.downloads = DownloadDialogs(self.models, self)
        self.width_spin = stroke_width_spin(self.canvas, self.settings)
        self.window_actions = self._build_actions()
        self.feedback_actions = feedback_actions(self, self.result_actions, self.session.undo_refine)
        self.similar_action = self.window_actions.similar
        build_menus(self, self.window_actions)
        self.toolbar = build_toolbar(self, self.window_actions, self.width_spin)
        self._restore_preview_choice()
        self._connect()
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        for key, restore in (("window/geometry", self.restoreGeometry), ("window/state", self.restoreState)):
            value = self.settings.value(key)
            if isinstance(value, QByteArray):
                restore(value)
        self.results_pane.set_has_folders(False)

    # == building the window ======================================================================

    def _build_layout(self) -> None:
        self.message_bar = MessageBar()
        self.canvas = SketchCanvas()
        pane = self.results_pane = ResultsPane(self.results_model, self.thumbnails, self.preferences.current.results_count,
                                               self.preferences.current.thumbnail_size)
        self.splitter = build_central(self, self.message_bar, self.canvas, pane)
        self.library_panel = LibraryPanel()
        self.library_dock = build_library_dock(self, self.library_panel)
        self.model_state = ModelState(self)

    def _connect(self) -> None:
        status = self.statusBar().showMessage
        panel, pane, session, library = self.library_panel, self.results_pane, self.session, self.library
        self.canvas.changed.connect(session.canvas_changed)
        pane.k_spin.valueChanged.connect(session.set_page_size)
        pane.more_button.clicked.connect(session.show_more)
        pane.folder_button.chosen.connect(session.set_folder_filter)
        pane.empty_add_button.clicked.connect(self.dialogs.choose_folder)
        self.results_pane.results_view.activated.connect(self.result_actions.open)
        session.results_ready.connect(lambda results: self.results_shown.emit(len(results)))
        session.status.connect(self.results_pane.result_count_label.setText)
        session.more_available.connect(self.results_pane.more_button.setEnabled)
        session.more_available.connect(self.window_actions.more.setEnabled)
        session.cleared.connect(pane.clear)
        session.folder_filter_changed.connect(pane.folder_button.show_chosen)
        session.failed.connect(self.show_error)
        self.engine.searching.connect(self.model_state.show_searching)
        self.preferences.changed.connect(self._prefs_changed)

        panel.add_requested.connect(self.dialogs.choose_folder)
        panel.remove_requested.connect(library.remove_folder)
        panel.rescan_requested.connect(library.start_indexing)
        panel.cancel_requested.connect(library.cancel_indexing)
        panel.skipped_requested.connect(lambda: SkippedFilesDialog(self.engine.skipped(), self).exec())
        library.folders_changed.connect(self._folders_changed)
        library.indexing_changed.connect(panel.set_indexing)
        library.indexing_changed.connect(self._indexing_line)
        library.progress.connect(panel.show_progress)
        library.cancelling.connect(panel.set_cancelling)
        library.photos_changed.connect(session.search_now)
        library.error.connect(self.show_error)
        library.status.connect(status)

        self.models.state.connect(self.model_state.show_model)
        self.models.offer.connect(self._show_offer)
        self.models.ready.connect(lambda: self.message_bar.dismiss() if self.message_bar.kind in ("busy", "warning") else None)
        self.query.error.connect(self.show_error)
        self.query.status.connect(status)
        self.query.folders_dropped.connect(self._add_folders)
        self.result_actions.error.connect(self.show_error)
        self.result_actions.status.connect(status)
        self.result_actions.similar_requested.connect(self._search_similar)
        self.result_actions.feedback_given.connect(self.session.refine)

    def _build_actions(self) -> WindowActions:
        """The window's actions, connected to its controllers and slots."""
        w = self
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
            open=make_action(w, "&Open Image…", w.dialogs.open_image, [Key.Open], "Search with an image file",
                             tool_icon("open", "document-open")),
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
        w.results_pane.results_view.addActions([actions.open_result, actions.reveal, actions.copy_path, actions.similar])
        return actions

    # == the window's public surface ===============================================================

    def start(self) -> None:
        """Open the library and load the model (in the background): called once the window shows."""
        self.library.open_library(self.library.library_dir)
        self.models.load_model()

    def show_error(self, text: str, kind: str = "error") -> None:
        """Show a readable message in the window (and log it)."""
        log.warning("shown to the user: %s", text)
        self.message_bar.show_message(text, kind)

    # == slots ====================================================================================

    def _folders_changed(self, folders: list[tuple[str, int]], skipped: int) -> None:
        self.library_panel.set_folders(folders)
        self.library_panel.set_skipped_count(skipped)
        self.session.keep_folders([path for path, _count in folders])
        self.results_pane.folder_button.set_folders(path for path, _count in folders)
        self.results_pane.set_has_folders(bool(folders))

    def _indexing_line(self, running: bool, message: str) -> None:
        """How a run ended shows below the library's progress bar, and in the status bar only
        while the library panel is hidden (so it is never shown twice)."""
        if not running and message and not self.library_dock.isVisible():
            self.statusBar().showMessage(message, 8000)

    def _search_similar(self, photo_id: int, path: Path | None) -> None:
        if path is not None:
            self.query.load_image(path)
        self.session.find_similar(photo_id)

    def _restore_preview_choice(self) -> None:
        preview = self.window_actions.preview
        preview.setChecked(str(self.settings.value("results/preview", "true")).lower() == "true")
        self.results_pane.set_preview_enabled(preview.isChecked())

        def toggled(on: bool) -> None:
            self.results_pane.set_preview_enabled(on)
            self.settings.setValue("results/preview", on)

        preview.toggled.connect(toggled)

    def _add_folders(self, folders: list[Path]) -> None:
        for folder in folders:
            self.library.add_folder(folder)

    def _show_offer(self, offer: Offer) -> None:
        actions = {
            model_loading.USE_DEFAULT: self.models.use_offline_model,
            model_loading.CHOOSE_WEIGHTS: self.dialogs.choose_weights_file,
            model_loading.CHOOSE_CHECKPOINT: self.dialogs.choose_checkpoint,
            model_loading.RETRY_DOWNLOAD: self.models.download_weights,
            model_loading.OPEN_SETTINGS: self.open_settings,
        }
        if offer.detail:
            self.message_bar.setToolTip(offer.detail)
        self.message_bar.show_message(offer.text, offer.kind, [(text, actions[c]) for text, c in offer.choices], offer.closable)

    def set_eraser(self, on: bool) -> None:
        """Switch between pen and eraser."""
        self.canvas.eraser = on
        (self.window_actions.eraser if on else self.window_actions.pen).setChecked(True)

    def focus_results(self) -> None:
        """Move the keyboard focus to the results grid (the first result if none is current)."""
        self.results_pane.results_view.setFocus()
        if not self.results_pane.results_view.currentIndex().isValid() and self.results_model.rowCount() > 0:
            self.results_pane.results_view.setCurrentIndex(self.results_model.index(0))

    # == settings ==================================================================================

    def settings_dialog(self) -> SettingsDialog:
        """A settings dialog for the current preferences, with every registered extra page."""
        devices, models = choices_here()
        dialog = SettingsDialog(self.preferences.current, devices=devices, models=models, parent=self)
        for add_page in self.settings_pages:
            add_page(dialog)
        return dialog

    def open_settings(self) -> None:
        """Show the settings dialog and apply what changed."""
        dialog = self.settings_dialog()
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self.apply_preferences(dialog.preferences())

    def apply_preferences(self, new: Preferences) -> None:
        """Put ``new`` in force; each part applies its changes (the model and library controllers
        theirs, the window the theme and the results pane's)."""
        self.preferences.set(new)

    def _prefs_changed(self, old: Preferences, new: Preferences) -> None:
        if new.theme != old.theme and self._apply_theme is not None:
            self._apply_theme(new.theme)
        if new.thumbnail_size != old.thumbnail_size:
            self.results_pane.set_thumbnail_size(new.thumbnail_size)
        if new.results_count != old.results_count:
            self.results_pane.k_spin.setValue(new.results_count)

    # == Qt events ================================================================================

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.query.accepts(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.query.drop(event.mimeData())
        event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not all(guard() for guard in self.close_guards):
            event.ignore()
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        if self.engine.indexing():
            self.statusBar().showMessage("Stopping indexing…")
            QApplication.processEvents()
        self.engine.shutdown()
        self.thumbnails.wait(5000)
        self.settings.sync()
        event.accept()
