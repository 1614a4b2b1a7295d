"""The main window: library dock, sketch canvas, results and preview, wired to the controllers that
hold the app's behaviour (``zssbir_desktop.controllers``); the layout pieces are in ``views``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMainWindow

from zssbir_desktop.canvas import SketchCanvas
from zssbir_desktop.controllers import model_loading
from zssbir_desktop.controllers.library_control import LibraryControl
from zssbir_desktop.controllers.model_loading import ModelLoading, Offer
from zssbir_desktop.controllers.query_input import QueryInput
from zssbir_desktop.controllers.result_actions import ResultActions
from zssbir_desktop.controllers.search_session import SearchSession
from zssbir_desktop.engine import Engine
from zssbir_desktop.library_panel import LibraryPanel, SkippedFilesDialog
from zssbir_desktop.message_bar import MessageBar
from zssbir_desktop.results_model import ResultsModel
from zssbir_desktop.settings import Preferences, PreferencesStore
from zssbir_desktop.settings_dialog import SettingsDialog, choices_here
from zssbir_desktop.thumbnails import ThumbnailLoader
from zssbir_desktop.views.actions import build_actions, build_menus, build_toolbar, stroke_width_spin
from zssbir_desktop.views.dialogs import Dialogs
from zssbir_desktop.views.download_dialog import DownloadDialogs
from zssbir_desktop.views.frame import ModelState, build_central, build_library_dock
from zssbir_desktop.views.results_pane import ResultsPane

if TYPE_CHECKING:
    from zssbir_core.api import ModelRequest

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
        self.result_actions = ResultActions(self.results_view, self)
        self.dialogs = Dialogs(self, self.query, self.library, self.models)
        self.downloads = DownloadDialogs(self.models, self)
        self.width_spin = stroke_width_spin(self.canvas, self.settings)
        self.window_actions = build_actions(self)
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
        pane = self.results_pane = ResultsPane(self.results_model, self.thumbnails, self.prefs.results_count,
                                               self.prefs.thumbnail_size)
        self.results_view, self.preview, self.results_stack = pane.results_view, pane.preview, pane.results_stack
        self.empty_page, self.empty_add_button = pane.empty_page, pane.empty_add_button
        self.result_count_label, self.k_spin = pane.result_count_label, pane.k_spin
        self.folder_button, self.more_button = pane.folder_button, pane.more_button
        self.splitter = build_central(self, self.message_bar, self.canvas, pane)
        self.library_panel = LibraryPanel()
        self.library_dock = build_library_dock(self, self.library_panel)
        self.model_state = ModelState(self)
        self.model_label = self.model_state.model_label

    def _connect(self) -> None:
        status = self.statusBar().showMessage
        panel, pane, session, library = self.library_panel, self.results_pane, self.session, self.library
        self.canvas.changed.connect(session.canvas_changed)
        pane.k_spin.valueChanged.connect(session.set_page_size)
        pane.more_button.clicked.connect(session.show_more)
        pane.folder_button.chosen.connect(session.set_folder_filter)
        pane.empty_add_button.clicked.connect(self.dialogs.choose_folder)
        self.results_view.activated.connect(self.result_actions.open)
        session.results_ready.connect(lambda results: self.results_shown.emit(len(results)))
        session.status.connect(self.result_count_label.setText)
        session.more_available.connect(self.more_button.setEnabled)
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

    # == what the controllers do, as the window's public surface ==================================

    @property
    def library_dir(self) -> Path:
        """The open (or last tried) library's folder."""
        return self.library.library_dir

    def start(self) -> None:
        """Open the library and load the model (in the background): called once the window shows."""
        self.open_library(self.library_dir)
        self.load_model()

    def open_library(self, directory: Path) -> None:
        """Open the library at ``directory``; a failure is shown in the window."""
        self.library.open_library(directory)

    def load_model(self) -> None:
        """Load the model named in the preferences, or else the library's own, or else the default."""
        self.models.load_model()

    @property
    def prefs(self) -> Preferences:
        """The preferences in force (change them through ``preferences``)."""
        return self.preferences.current

    def model_spec(self) -> ModelRequest:
        """The model to search with: the preferences' choice, else the library's own, else the default."""
        return self.models.model_spec()

    def add_folder(self, folder: Path) -> None:
        """Add ``folder`` to the library and index it in the background."""
        self.library.add_folder(folder)

    def rescan(self) -> None:
        """Look for new, changed and deleted photos."""
        self.library.start_indexing()

    start_indexing = rescan

    def search_now(self) -> None:
        """Search with the current query without waiting."""
        self.session.search_now()

    def set_folder_filter(self, folders: set[str]) -> None:
        """Search only ``folders`` (empty: all of them)."""
        self.session.set_folder_filter(folders)

    def save_sketch_to(self, path: Path) -> bool:
        """Write the canvas as a PNG to ``path``; a failure shows a message."""
        return self.query.save_sketch_to(path)

    def show_error(self, text: str, kind: str = "error") -> None:
        """Show a readable message in the window (and log it)."""
        log.warning("shown to the user: %s", text)
        self.message_bar.show_message(text, kind)

    # == slots ====================================================================================

    def _folders_changed(self, folders: list[tuple[str, int]], skipped: int) -> None:
        self.library_panel.set_folders(folders)
        self.library_panel.set_skipped_count(skipped)
        self.session.keep_folders([path for path, _count in folders])
        self.folder_button.set_folders(path for path, _count in folders)
        self.results_pane.set_has_folders(bool(folders))

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
        self.results_view.setFocus()
        if not self.results_view.currentIndex().isValid() and self.results_model.rowCount() > 0:
            self.results_view.setCurrentIndex(self.results_model.index(0))

    # == settings ==================================================================================

    def settings_dialog(self) -> SettingsDialog:
        """A settings dialog for the current preferences, with every registered extra page."""
        devices, models = choices_here()
        dialog = SettingsDialog(self.prefs, devices=devices, models=models, parent=self)
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
