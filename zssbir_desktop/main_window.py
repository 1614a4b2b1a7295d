"""The main window: library panel, sketch canvas, results grid and preview, wired to the engine."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QModelIndex, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QImage,
    QImageReader,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QProgressDialog,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from zssbir_core.api import DEFAULT_MODEL, model_choices
from zssbir_core.errors import ZssbirError
from zssbir_desktop.canvas import SketchCanvas
from zssbir_desktop.engine import Engine
from zssbir_desktop.error_log import log_file
from zssbir_desktop.file_manager import open_with_system, show_in_file_manager
from zssbir_desktop.imageconv import qimage_to_pil
from zssbir_desktop.library_panel import LibraryPanel, SkippedFilesDialog
from zssbir_desktop.message_bar import MessageBar
from zssbir_desktop.preview import PREVIEW_SIZE, PreviewPanel
from zssbir_desktop.results_model import PathRole, PhotoIdRole, ResultsModel, ScoreRole
from zssbir_desktop.results_view import ResultsView
from zssbir_desktop.settings import Preferences, save_preferences
from zssbir_desktop.settings_dialog import SettingsDialog
from zssbir_desktop.thumbnails import ThumbnailLoader

log = logging.getLogger("zssbir.desktop")

SEARCH_DELAY_MS = 300
"""Quiet time after a stroke before the search starts (strokes in quick succession coalesce)."""


def tool_icon(name: str, fallback: str) -> QIcon:
    """The project's icon ``name``.svg, else the desktop theme's ``fallback`` icon."""
    try:
        from zssbir_desktop.resources_path import resource_file

        return QIcon(str(resource_file(f"{name}.svg")))
    except (ImportError, FileNotFoundError, ModuleNotFoundError):
        return QIcon.fromTheme(fallback)


class MainWindow(QMainWindow):
    """The app's one window. ``start()`` opens the library and loads the model in the background.

    Extension points: ``settings_pages`` holds callables that add pages to the settings dialog
    (``lambda dialog: dialog.add_page(widget, "Fine-tuning")``); ``close_guards`` holds callables
    that may veto closing (return False), e.g. to ask whether to stop a training run.
    """

    results_shown = Signal(int)

    def __init__(
        self,
        engine: Engine,
        prefs: Preferences,
        library_dir: Path,
        settings: QSettings | None = None,
        apply_theme: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("zssbir — find photos by drawing")
        self.engine = engine
        self.prefs = prefs
        self.library_dir = Path(library_dir)
        self.settings = settings or QSettings()
        self._apply_theme = apply_theme
        self.settings_pages: list[Callable[[SettingsDialog], None]] = []
        self.close_guards: list[Callable[[], bool]] = []
        self.folder_filter: set[str] = set()
        self._query: Any = None
        self._query_is_similar = False
        self._page_k = prefs.results_count
        self._download_offered = False
        self.weights_url: str | None = None
        """Where ResNet50 weights are downloaded from (None: torchvision's address)."""
        self._download_dialog: QProgressDialog | None = None
        self._preview_key: Any = None
        self._last_count_refresh = 0.0

        self.thumbnails = ThumbnailLoader(engine.thumbnail_image, parent=self)
        self.results_model = ResultsModel(self.thumbnails, prefs.thumbnail_size, self)
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_DELAY_MS)
        self.search_timer.timeout.connect(self.search_now)

        self._build_central()
        self._build_library_dock()
        self._create_actions()
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self._connect_engine()
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        self._update_empty_state()

    # == building the window ======================================================================

    def _build_central(self) -> None:
        self.message_bar = MessageBar()
        self.canvas = SketchCanvas()
        self.canvas.changed.connect(self._sketch_changed)

        self.results_view = ResultsView(self.prefs.thumbnail_size)
        self.results_view.setModel(self.results_model)
        self.results_view.activated.connect(self._open_index)
        self.results_view.hovered.connect(self._preview_index)
        self.results_view.selectionModel().currentChanged.connect(
            lambda current, _old: self._preview_index(current)
        )

        self.result_count_label = QLabel("Draw something to search")
        self.result_count_label.setObjectName("resultCount")
        self.k_spin = QSpinBox()
        self.k_spin.setRange(4, 500)
        self.k_spin.setValue(self.prefs.results_count)
        self.k_spin.setToolTip("Number of results")
        self.k_spin.setPrefix("Show ")
        self.k_spin.valueChanged.connect(self._k_changed)
        self.folder_button = QToolButton()
        self.folder_button.setText("All folders")
        self.folder_button.setToolTip("Search only some of the library's folders")
        self.folder_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.folder_menu = QMenu(self.folder_button)
        self.folder_button.setMenu(self.folder_menu)
        self.more_button = QPushButton("Show more")
        self.more_button.setToolTip("Show the next page of results (Ctrl+M)")
        self.more_button.setEnabled(False)
        header = QHBoxLayout()
        header.addWidget(self.result_count_label, 1)
        header.addWidget(self.folder_button)
        header.addWidget(self.k_spin)
        header.addWidget(self.more_button)

        self.empty_page = self._build_empty_page()
        self.results_stack = QStackedWidget()
        self.results_stack.addWidget(self.empty_page)
        self.results_stack.addWidget(self.results_view)

        self.preview = PreviewPanel()
        results_box = QWidget()
        results_layout = QVBoxLayout(results_box)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addLayout(header)
        results_layout.addWidget(self.results_stack, 1)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(results_box)
        right.addWidget(self.preview)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)

        canvas_box = QWidget()
        canvas_layout = QVBoxLayout(canvas_box)
        canvas_layout.setContentsMargins(0, 0, 0, 0)
        canvas_layout.addWidget(self.canvas, 1)
        self.canvas_hint = QLabel("Draw with the mouse or a pen. Results follow each stroke.")
        self.canvas_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        canvas_layout.addWidget(self.canvas_hint)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(canvas_box)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([10, 11])  # scaled to the width: room for three columns of results

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

    def _build_empty_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("emptyState")
        title = QLabel("<h2>Add your photos</h2>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "Choose a folder of photos to search. zssbir indexes it in the background;\n"
            "you can draw and search while it works. You can also drop a folder onto this window."
        )
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setWordWrap(True)
        self.empty_add_button = QPushButton("Add a folder…")
        self.empty_add_button.setObjectName("emptyAddButton")
        self.empty_add_button.clicked.connect(self.choose_folder)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(title)
        layout.addWidget(text)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.empty_add_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)
        return page

    def _build_library_dock(self) -> None:
        self.library_panel = LibraryPanel()
        self.library_panel.add_requested.connect(self.choose_folder)
        self.library_panel.remove_requested.connect(self.remove_folder)
        self.library_panel.rescan_requested.connect(self.rescan)
        self.library_panel.cancel_requested.connect(self.cancel_indexing)
        self.library_panel.skipped_requested.connect(self.show_skipped)
        self.library_dock = QDockWidget("Library", self)
        self.library_dock.setObjectName("libraryDock")
        self.library_dock.setWidget(self.library_panel)
        self.library_dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.library_dock)
        self.resizeDocks([self.library_dock], [280], Qt.Orientation.Horizontal)

    def _action(
        self,
        text: str,
        slot: Callable[..., Any],
        shortcuts: list[QKeySequence | QKeySequence.StandardKey | str] | None = None,
        tip: str = "",
        icon: QIcon | None = None,
    ) -> QAction:
        action = QAction(text, self)
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
        self.addAction(action)
        return action

    def _create_actions(self) -> None:
        Key = QKeySequence.StandardKey
        self.open_action = self._action(
            "&Open Image…",
            self.open_image,
            [Key.Open],
            "Search with an image file",
            tool_icon("open", "document-open"),
        )
        self.paste_action = self._action(
            "&Paste Image", self.paste_image, [Key.Paste], "Search with the image on the clipboard"
        )
        self.save_action = self._action(
            "&Save Sketch…",
            self.save_sketch,
            [Key.Save],
            "Save the sketch as a PNG file",
            tool_icon("save", "document-save"),
        )
        self.add_folder_action = self._action(
            "&Add Folder…",
            self.choose_folder,
            ["Ctrl+Shift+O"],
            "Add a folder of photos",
            tool_icon("folder-add", "folder-new"),
        )
        self.rescan_action = self._action(
            "&Re-scan Library", self.rescan, ["F5"], "Look for new, changed and deleted photos"
        )
        self.settings_action = self._action(
            "Se&ttings…",
            self.open_settings,
            [Key.Preferences, "Ctrl+,"],
            "Settings",
            tool_icon("settings", "preferences-system"),
        )
        self.quit_action = self._action("&Quit", self.close, [Key.Quit, "Ctrl+Q"], "Quit zssbir")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        self.undo_action = self.canvas.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts(QKeySequence.keyBindings(Key.Undo))
        self.undo_action.setIcon(tool_icon("undo", "edit-undo"))
        self.undo_action.setToolTip("Undo the last stroke (Ctrl+Z)")
        self.redo_action = self.canvas.undo_stack.createRedoAction(self, "&Redo")
        redo_keys = list(
            dict.fromkeys(
                s.toString()
                for s in [
                    *QKeySequence.keyBindings(Key.Redo),
                    QKeySequence("Ctrl+Shift+Z"),
                    QKeySequence("Ctrl+Y"),
                ]
            )
        )
        self.redo_action.setShortcuts([QKeySequence(s) for s in redo_keys])
        self.redo_action.setIcon(tool_icon("redo", "edit-redo"))
        self.redo_action.setToolTip("Redo (Ctrl+Shift+Z or Ctrl+Y)")
        self.addActions([self.undo_action, self.redo_action])
        self.clear_action = self._action(
            "&Clear Canvas",
            self.canvas.clear,
            ["Ctrl+Backspace", "Ctrl+Delete"],
            "Clear the canvas",
            tool_icon("clear", "edit-clear"),
        )

        self.pen_action = self._action(
            "&Pen",
            lambda: self.set_eraser(False),
            ["P"],
            "Pen: draw black strokes",
            tool_icon("pen", "draw-freehand"),
        )
        self.eraser_action = self._action(
            "&Eraser",
            lambda: self.set_eraser(True),
            ["E"],
            "Eraser: rub out strokes",
            tool_icon("eraser", "draw-eraser"),
        )
        self.tool_group = QActionGroup(self)
        for action in (self.pen_action, self.eraser_action):
            action.setCheckable(True)
            self.tool_group.addAction(action)
        self.pen_action.setChecked(True)
        self.thicker_action = self._action(
            "&Thicker Stroke", lambda: self.width_spin.stepUp(), ["]"], "Thicker stroke"
        )
        self.thinner_action = self._action(
            "T&hinner Stroke", lambda: self.width_spin.stepDown(), ["["], "Thinner stroke"
        )

        self.open_result_action = self._action(
            "&Open Photo", self.open_selected, [], "Open with the system's viewer (Enter)"
        )
        self.reveal_action = self._action(
            "Show in &File Manager",
            self.reveal_selected,
            ["Ctrl+Shift+R"],
            "Show the photo in the file manager",
        )
        self.copy_path_action = self._action(
            "&Copy Path", self.copy_selected_path, ["Ctrl+Shift+C"], "Copy the photo's path"
        )
        self.similar_action = self._action(
            "Find &Similar",
            self.find_similar,
            ["Ctrl+Shift+F"],
            "Search with this photo as the query",
            tool_icon("find-similar", "edit-find"),
        )
        self.more_action = self._action(
            "Show &More", self.show_more, ["Ctrl+M"], "Show the next page of results"
        )
        self.more_button.clicked.connect(self.show_more)
        for action in (
            self.open_result_action,
            self.reveal_action,
            self.copy_path_action,
            self.similar_action,
        ):
            self.results_view.addAction(action)

        self.focus_canvas_action = self._action(
            "Focus &Canvas", self.canvas.setFocus, ["Ctrl+1"], "Move the keyboard focus to the canvas"
        )
        self.focus_results_action = self._action(
            "Focus &Results", self.focus_results, ["Ctrl+2", "F6"], "Move the keyboard focus to the results"
        )
        self.library_toggle = self.library_dock.toggleViewAction()
        self.library_toggle.setShortcut(QKeySequence("Ctrl+Shift+L"))
        self.open_log_action = self._action(
            "Open &Log Folder",
            lambda: open_with_system(log_file().parent),
            [],
            "Open the folder with zssbir's log file",
        )
        self.about_action = self._action("&About zssbir", self.show_about, [], "About zssbir")

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.open_action, self.paste_action, self.save_action])
        file_menu.addSeparator()
        file_menu.addActions([self.add_folder_action, self.rescan_action])
        file_menu.addSeparator()
        file_menu.addActions([self.settings_action, self.quit_action])
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([self.undo_action, self.redo_action, self.clear_action])
        edit_menu.addSeparator()
        edit_menu.addActions([self.pen_action, self.eraser_action, self.thicker_action, self.thinner_action])
        results_menu = bar.addMenu("&Results")
        results_menu.addActions(
            [
                self.open_result_action,
                self.reveal_action,
                self.copy_path_action,
                self.similar_action,
                self.more_action,
            ]
        )
        view_menu = bar.addMenu("&View")
        view_menu.addActions([self.focus_canvas_action, self.focus_results_action, self.library_toggle])
        help_menu = bar.addMenu("&Help")
        help_menu.addActions([self.open_log_action, self.about_action])

        toolbar = QToolBar("Drawing")
        toolbar.setObjectName("drawingToolbar")
        toolbar.setIconSize(QSize(22, 22))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addActions([self.pen_action, self.eraser_action])
        self.width_spin = QSpinBox()
        self.width_spin.setObjectName("strokeWidth")
        self.width_spin.setRange(1, 40)
        self.width_spin.setValue(int(self.settings.value("canvas/width", 4)))
        self.width_spin.setSuffix(" px")
        self.width_spin.setToolTip("Stroke width ([ and ])")
        self.width_spin.valueChanged.connect(self._width_changed)
        self.canvas.pen_width = float(self.width_spin.value())
        toolbar.addWidget(QLabel(" Width "))
        toolbar.addWidget(self.width_spin)
        toolbar.addSeparator()
        toolbar.addActions([self.undo_action, self.redo_action, self.clear_action])
        toolbar.addSeparator()
        toolbar.addActions([self.open_action, self.save_action])
        toolbar.addSeparator()
        toolbar.addActions([self.similar_action, self.add_folder_action, self.settings_action])
        self.addToolBar(toolbar)
        self.toolbar = toolbar

    def _build_status_bar(self) -> None:
        self.model_label = QLabel("Model: not loaded")
        self.model_label.setObjectName("modelState")
        self.model_busy = QProgressBar()
        self.model_busy.setRange(0, 0)
        self.model_busy.setMaximumWidth(90)
        self.model_busy.setMaximumHeight(14)
        self.model_busy.hide()
        self.search_label = QLabel()
        self.statusBar().addPermanentWidget(self.search_label)
        self.statusBar().addPermanentWidget(self.model_busy)
        self.statusBar().addPermanentWidget(self.model_label)

    def _connect_engine(self) -> None:
        engine = self.engine
        engine.model_loading.connect(self._model_loading)
        engine.model_ready.connect(self._model_ready)
        engine.model_failed.connect(self._model_failed)
        engine.library_changed.connect(self.refresh_library)
        engine.indexing_started.connect(lambda: self.library_panel.set_indexing(True))
        engine.indexing_progress.connect(self._indexing_progress)
        engine.indexing_finished.connect(self._indexing_finished)
        engine.indexing_failed.connect(self._indexing_failed)
        engine.results_ready.connect(self._show_results)
        engine.search_failed.connect(self._search_failed)
        engine.searches.busy_changed.connect(self._search_busy)
        engine.download_progress.connect(self._download_progress)

    # == start-up, library, model ================================================================

    def start(self) -> None:
        """Open the library and load the model (in the background): called once the window shows."""
        self.open_library(self.library_dir)
        self.load_model()

    def open_library(self, directory: Path) -> None:
        """Open the library at ``directory``; a failure is shown in the window."""
        self.library_dir = Path(directory)
        try:
            self.engine.open_library(self.library_dir)
        except ZssbirError as error:
            self.show_error(f"The photo library at {directory} cannot be opened: {error}")
        except OSError as error:
            self.show_error(f"The photo library at {directory} cannot be opened: {error.strerror or error}")
        else:
            self._adopt_library_state()
            self._maybe_start_indexing(startup=True)

    def _adopt_library_state(self) -> None:
        """Move the exclude list and the unfinished-run flag of older versions from QSettings into
        the library (once), and show the library's exclude list in the preferences."""
        from dataclasses import replace

        from zssbir_desktop.settings import take_legacy_exclude_patterns

        library = self.engine.library
        legacy = take_legacy_exclude_patterns(self.settings)
        if legacy:
            library.add_exclude_patterns(legacy)
        if self.settings.contains("library/unfinished"):
            if str(self.settings.value("library/unfinished")).lower() == "true":
                library.request_indexing()
            self.settings.remove("library/unfinished")
        self.prefs = replace(self.prefs, exclude_patterns=tuple(library.exclude_patterns()))

    def load_model(self) -> None:
        """Load the model named in the preferences, or else the library's own model, or else the
        default model."""
        spec, image_size = self.model_spec()
        self.engine.load_model(spec, self.prefs.device, self.prefs.weights_file or None, image_size)

    def model_spec(self) -> tuple[str, int | None]:
        """The model to search with: ``(spec, image size or None)``."""
        if self.prefs.model:
            return self.prefs.model, None
        library = self.engine.library
        if library is not None and library.model_id is not None:
            from zssbir_core.api import library_model_spec

            try:
                return library_model_spec(library.model_id)
            except ZssbirError as error:
                log.warning("the library's model: %s", error)
        return DEFAULT_MODEL, None

    def _model_loading(self, spec: str) -> None:
        name = Path(spec).name if ("/" in spec or "\\" in spec) else spec
        self.model_label.setText(f"Loading model {name}…")
        self.model_busy.show()
        self.message_bar.show_message(
            f"Loading the model ({name}). You can start drawing; results appear when it is ready.",
            "busy",
            closable=False,
        )

    def _model_ready(self, embedder: Any) -> None:
        log.info("model %s ready on %s", embedder.model_id, embedder.device)
        self.model_busy.hide()
        self.model_label.setText(f"Model: {embedder.name} on {embedder.device}")
        if self.message_bar.kind in ("busy", "warning"):
            self.message_bar.dismiss()
        self._maybe_start_indexing(startup=True)
        if self._query is not None or not self.canvas.is_blank():
            self.search_now()

    def _model_failed(self, error: BaseException) -> None:
        from zssbir_core.errors import WeightsUnavailableError

        self.model_busy.hide()
        self.model_label.setText("Model: not loaded")
        wants_resnet = self.model_spec()[0] == "resnet50-imagenet" and not self.prefs.weights_file
        if isinstance(error, WeightsUnavailableError) and wants_resnet and not self._download_offered:
            self._download_offered = True
            self.download_weights()
            return
        if isinstance(error, WeightsUnavailableError) and wants_resnet:
            self.show_offline_choices(str(error))
            return
        detail = (
            str(error)
            if isinstance(error, ZssbirError)
            else f"{type(error).__name__}: {error} (details in {log_file()})"
        )
        self.message_bar.show_message(
            f"The model could not be loaded: {detail}",
            "error",
            [
                ("Use the default model", self.use_offline_model),
                ("Choose a checkpoint…", self.choose_checkpoint),
                ("Settings…", self.open_settings),
            ],
        )

    def download_weights(self, url: str | None = None) -> None:
        """Download the ResNet50 weights with a cancellable progress dialog, then load the model."""
        dialog = QProgressDialog(
            "Downloading the ResNet50 ImageNet weights (about 100 MB)…", "Cancel", 0, 0, self
        )
        dialog.setWindowTitle("Downloading model")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self.engine.cancel_download)
        self._download_dialog = dialog
        task = self.engine.download_weights(url or self.weights_url)
        task.signals.succeeded.connect(self._download_done)
        task.signals.failed.connect(self._download_failed)
        self.model_busy.show()
        self.model_label.setText("Downloading ResNet50 weights…")
        dialog.show()

    def _download_progress(self, done: int, total: int) -> None:
        if self._download_dialog is not None:
            if total:
                self._download_dialog.setRange(0, total)
                self._download_dialog.setValue(min(done, total))
            self._download_dialog.setLabelText(
                f"Downloading the ResNet50 ImageNet weights… {done / 1e6:.1f}"
                + (f" of {total / 1e6:.1f} MB" if total else " MB")
            )

    def _close_download_dialog(self) -> None:
        if self._download_dialog is not None:
            self._download_dialog.close()
            self._download_dialog.deleteLater()
            self._download_dialog = None

    def _download_done(self, _path: Any) -> None:
        self._close_download_dialog()
        self.load_model()

    def _download_failed(self, error: BaseException) -> None:
        from zssbir_core.api import DownloadCancelled

        self._close_download_dialog()
        self.model_busy.hide()
        self.model_label.setText("Model: not loaded")
        if isinstance(error, DownloadCancelled):
            self.show_offline_choices("The download was cancelled.")
        else:
            self.show_offline_choices(str(error))

    def show_offline_choices(self, reason: str) -> None:
        """Say plainly that ResNet50 is not available and offer the ways forward."""
        self.message_bar.setToolTip(reason)
        self.message_bar.show_message(
            "<b>The ResNet50 model is not available on this computer</b> and could not be downloaded "
            "(no internet connection?). Use the default model, which works offline, or choose a weights "
            f"file or a trained checkpoint.<br><small>{reason.split('. ')[0]}.</small>",
            "warning",
            [
                ("Use the default model (offline)", self.use_offline_model),
                ("Choose a weights file…", self.choose_weights_file),
                ("Choose a checkpoint…", self.choose_checkpoint),
                ("Retry download", lambda: self.download_weights()),
            ],
        )

    def use_offline_model(self) -> None:
        """Switch to the default model (it works offline) and remember it."""
        self._change_model(DEFAULT_MODEL, weights="")

    def choose_weights_file(self) -> None:
        """Ask for a ResNet50 weights file and use it from now on."""
        path, _ = QFileDialog.getOpenFileName(
            self, "ResNet50 weights file", "", "PyTorch weights (*.pth *.pt)"
        )
        if path:
            self._change_model("resnet50-imagenet", weights=path)

    def choose_checkpoint(self) -> None:
        """Ask for a trained checkpoint folder and use it from now on."""
        folder = QFileDialog.getExistingDirectory(self, "Trained model (checkpoint folder)")
        if folder:
            self._change_model(folder, weights="")

    def _change_model(self, spec: str, weights: str) -> None:
        self.prefs.model = spec
        self.prefs.weights_file = weights
        save_preferences(self.prefs, self.settings)
        self.message_bar.dismiss()
        self.load_model()

    def refresh_library(self) -> None:
        """Re-read folders, counts and skipped files from the library."""
        try:
            folders = self.engine.folders()
            skipped = self.engine.skipped()
        except ZssbirError as error:
            self.show_error(str(error))
            return
        self.library_panel.set_folders(folders)
        self.library_panel.set_skipped_count(len(skipped))
        self._rebuild_folder_menu([path for path, _count in folders])
        self._update_empty_state()

    def _update_empty_state(self) -> None:
        has_folders = self.library_panel.folder_list.count() > 0
        self.results_stack.setCurrentWidget(self.results_view if has_folders else self.empty_page)
        self.preview.setVisible(has_folders)

    def _rebuild_folder_menu(self, folders: list[str]) -> None:
        self.folder_filter &= set(folders)
        self.folder_menu.clear()
        every = self.folder_menu.addAction("All folders")
        every.setCheckable(True)
        every.setChecked(not self.folder_filter)
        every.triggered.connect(lambda: self.set_folder_filter(set()))
        self.folder_menu.addSeparator()
        for folder in folders:
            action = self.folder_menu.addAction(folder)
            action.setCheckable(True)
            action.setChecked(folder in self.folder_filter)
            action.toggled.connect(lambda on, f=folder: self._toggle_folder(f, on))
        self._update_folder_button()

    def _toggle_folder(self, folder: str, on: bool) -> None:
        chosen = set(self.folder_filter)
        (chosen.add if on else chosen.discard)(folder)
        self.set_folder_filter(chosen)

    def set_folder_filter(self, folders: set[str]) -> None:
        """Search only ``folders`` (empty: all of them)."""
        self.folder_filter = set(folders)
        for action in self.folder_menu.actions():
            if action.isCheckable():
                action.blockSignals(True)
                action.setChecked(
                    action.text() in self.folder_filter or (action.text() == "All folders" and not folders)
                )
                action.blockSignals(False)
        self._update_folder_button()
        self.search_now()

    def _update_folder_button(self) -> None:
        count = len(self.folder_filter)
        self.folder_button.setText(
            "All folders"
            if not count
            else (Path(next(iter(self.folder_filter))).name if count == 1 else f"{count} folders")
        )

    def choose_folder(self) -> None:
        """Ask for a folder of photos and add it."""
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if folder:
            self.add_folder(Path(folder))

    def add_folder(self, folder: Path) -> None:
        """Add ``folder`` to the library and index it in the background."""
        if self.engine.library is None:
            self.show_error("No photo library is open, so the folder cannot be added.")
            return
        try:
            self.engine.add_folder(folder)
        except ZssbirError as error:
            self.show_error(str(error))
            return
        self.statusBar().showMessage(f"Added {folder}", 5000)
        self.start_indexing()

    def remove_folder(self, folder: str) -> None:
        """Stop searching ``folder``."""
        if self.engine.indexing():
            self.show_error(
                "Please wait for indexing to finish (or cancel it) before removing a folder.", "warning"
            )
            return
        try:
            self.engine.remove_folder(Path(folder))
        except ZssbirError as error:
            self.show_error(str(error))
            return
        self.search_now()

    def rescan(self) -> None:
        """Look for new, changed and deleted photos."""
        self.start_indexing()

    def start_indexing(self) -> None:
        """Index the library now, or as soon as the model is ready."""
        if self.engine.library is None:
            return
        if self.engine.embedder is None:
            self.engine.library.request_indexing()  # remembered by the library until a run finishes
            self.library_panel.set_indexing(True)
            self.library_panel.progress_label.setText("Waiting for the model to load…")
            return
        self.engine.start_indexing()

    def _maybe_start_indexing(self, startup: bool) -> None:
        if self.engine.library is None or self.engine.embedder is None or self.engine.indexing():
            return
        unfinished = self.engine.library.indexing_unfinished
        if not self.engine.folders():
            return
        other_model = self.engine.library.model_id not in (None, self.engine.embedder.model_id)
        if (
            other_model
            or unfinished
            or (startup and self.prefs.rescan_on_start and not getattr(self, "_scanned_once", False))
        ):
            self._scanned_once = True
            self.engine.start_indexing()

    def cancel_indexing(self) -> None:
        """Stop the indexing run (what is done is kept)."""
        self.library_panel.set_cancelling()
        self.engine.cancel_indexing()

    def _indexing_progress(self, event: Any) -> None:
        now = time.monotonic()
        if event.phase == "embed" and now - self._last_count_refresh > 1.0:
            self._last_count_refresh = now  # photo counts grow while indexing runs
            self.refresh_library()
        self.library_panel.show_progress(
            int(getattr(event, "done", 0)),
            int(getattr(event, "total", 0)),
            getattr(event, "rate", None),
            getattr(event, "eta", None),
            str(getattr(event, "current", "") or ""),
            str(getattr(event, "phase", "") or ""),
        )

    def _indexing_finished(self, cancelled: bool) -> None:
        log.info("indexing %s", "cancelled" if cancelled else "finished")
        count = sum(n for _p, n in self.engine.folders())
        message = (
            "Indexing cancelled; the photos done so far are searchable."
            if cancelled
            else f"Indexing finished: {count} photos."
        )
        self.library_panel.set_indexing(False, message)
        self.statusBar().showMessage(message, 8000)
        self.search_now()

    def _indexing_failed(self, error: BaseException) -> None:
        self.library_panel.set_indexing(False, "Indexing stopped by an error.")
        self.show_error(f"Indexing stopped: {self._describe(error)}")

    def show_skipped(self) -> None:
        """List the files that were not indexed, with reasons."""
        SkippedFilesDialog(self.engine.skipped(), self).exec()

    # == drawing and searching ===================================================================

    def set_eraser(self, on: bool) -> None:
        """Switch between pen and eraser."""
        self.canvas.eraser = on
        (self.eraser_action if on else self.pen_action).setChecked(True)

    def _width_changed(self, value: int) -> None:
        self.canvas.pen_width = float(value)
        self.settings.setValue("canvas/width", value)

    def _sketch_changed(self) -> None:
        self._query_is_similar = False
        self._page_k = self.k_spin.value()
        if self.canvas.is_blank():
            self._query = None
            self.search_timer.stop()
            self.results_model.clear()
            self.preview.show_nothing()
            self.result_count_label.setText("Draw something to search")
            self.more_button.setEnabled(False)
            return
        self.search_timer.start()

    def _k_changed(self, value: int) -> None:
        self._page_k = value
        self.search_timer.start()

    def _current_query(self) -> Any:
        if self._query_is_similar:
            return self._query
        path = self.canvas.query_path()
        return path if path is not None else qimage_to_pil(self.canvas.sketch_image())

    def search_now(self) -> None:
        """Run the search for what the canvas shows (or the current "find similar" photo)."""
        self.search_timer.stop()
        if self.canvas.is_blank() and not self._query_is_similar:
            return
        self._query = self._current_query()
        folders = sorted(self.folder_filter) or None
        if self.engine.searcher is None:
            if self.engine.embedder is None:
                self.result_count_label.setText("Waiting for the model…")
            return
        indexed_with = self.engine.library.model_id if self.engine.library is not None else None
        if indexed_with not in (None, self.engine.embedder.model_id):
            self.result_count_label.setText("Indexing your photos for the new model; results follow")
            return
        if self._query_is_similar:
            self.engine.similar(int(self._query), self._page_k, folders)
        else:
            self.engine.search(self._query, self._page_k, folders)

    def _search_busy(self, busy: bool) -> None:
        self.search_label.setText("Searching…" if busy else "")

    def _show_results(self, _request: int, results: Any) -> None:
        results = list(results)
        self.results_model.set_results(results)
        self.result_count_label.setText(f"{len(results)} result{'s' if len(results) != 1 else ''}")
        self.more_button.setEnabled(len(results) >= self._page_k)
        self.more_action.setEnabled(len(results) >= self._page_k)
        self.results_shown.emit(len(results))

    def _search_failed(self, error: BaseException) -> None:
        self.show_error(f"The search failed: {self._describe(error)}")

    def show_more(self) -> None:
        """Show the next page of results for the same query."""
        if self._query is None:
            return
        self._page_k += self.k_spin.value()
        self.search_now()

    # == queries from files, clipboard and drops =================================================

    def open_image(self) -> None:
        """Search with an image file."""
        formats = " ".join(f"*.{bytes(f).decode()}" for f in QImageReader.supportedImageFormats())
        path, _ = QFileDialog.getOpenFileName(self, "Open an image to search with", "", f"Images ({formats})")
        if path:
            self.load_query_image(Path(path))

    def load_query_image(self, path: Path) -> bool:
        """Put the picture at ``path`` on the canvas as the query; a bad file shows a message."""
        from zssbir_core.api import open_image

        try:
            picture = open_image(path)
        except ZssbirError as error:
            self.show_error(f"This image cannot be used: {error}")
            return False
        from zssbir_desktop.imageconv import pil_to_qimage

        self.canvas.set_image(pil_to_qimage(picture), Path(path))
        return True

    def paste_image(self) -> None:
        """Search with the clipboard's image (or an image file path it holds)."""
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        image = clipboard.image()
        if not image.isNull():
            self.canvas.set_image(image)
        elif mime is not None and mime.hasUrls() and mime.urls()[0].isLocalFile():
            self.load_query_image(Path(mime.urls()[0].toLocalFile()))
        else:
            self.statusBar().showMessage("The clipboard holds no image.", 5000)

    def save_sketch(self) -> None:
        """Save the canvas as a PNG file."""
        path, _ = QFileDialog.getSaveFileName(self, "Save sketch", "sketch.png", "PNG image (*.png)")
        if path:
            self.save_sketch_to(Path(path))

    def save_sketch_to(self, path: Path) -> bool:
        """Write the canvas (at the model's size, 256 px) to ``path``; a failure shows a message."""
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        if not self.canvas.sketch_image().save(str(path), "PNG"):
            self.show_error(
                f"The sketch could not be saved to {path} (is the disk full or the folder read-only?)"
            )
            return False
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime.hasImage() or (mime.hasUrls() and any(url.isLocalFile() for url in mime.urls())):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        paths = (
            [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []
        )
        folders = [p for p in paths if p.is_dir()]
        files = [p for p in paths if p.is_file()]
        for folder in folders:
            self.add_folder(folder)
        if files and not folders:
            self.load_query_image(files[0])
        elif not paths and mime.hasImage():
            self.canvas.set_image(QImage(mime.imageData()))
        event.acceptProposedAction()

    # == acting on results ======================================================================

    def _selected_index(self) -> QModelIndex:
        index = self.results_view.currentIndex()
        if not index.isValid():
            selected = self.results_view.selectionModel().selectedIndexes()
            index = selected[0] if selected else QModelIndex()
        return index

    def _open_index(self, index: QModelIndex) -> None:
        path = index.data(PathRole)
        if path and not open_with_system(Path(path)):
            self.show_error(f"No application could open {path}.")

    def open_selected(self) -> None:
        """Open the selected photo with the system's viewer."""
        self._open_index(self._selected_index())

    def reveal_selected(self) -> None:
        """Show the selected photo in the file manager."""
        path = self._selected_index().data(PathRole)
        if path and not show_in_file_manager(Path(path)):
            self.show_error(f"The file manager could not be opened for {path}.")

    def copy_selected_path(self) -> None:
        """Copy the selected photos' paths (one per line)."""
        indexes = self.results_view.selectionModel().selectedIndexes() or [self._selected_index()]
        paths = [i.data(PathRole) for i in indexes if i.isValid()]
        if paths:
            QGuiApplication.clipboard().setText("\n".join(paths))
            self.statusBar().showMessage("Path copied", 3000)

    def find_similar(self, photo_id: int | None = None) -> None:
        """Make the selected photo the query."""
        index = self._selected_index()
        if photo_id is None:
            if not index.isValid():
                self.statusBar().showMessage("Select a result first.", 4000)
                return
            photo_id = int(index.data(PhotoIdRole))
            path = Path(index.data(PathRole))
        else:
            path = next((Path(r.path) for r in self.results_model.results() if r.id == photo_id), None)
        if path is not None:
            self.canvas.changed.disconnect(self._sketch_changed)
            try:
                self.load_query_image(path)
            finally:
                self.canvas.changed.connect(self._sketch_changed)
        self._query = photo_id
        self._query_is_similar = True
        self._page_k = self.k_spin.value()
        self.search_now()

    def focus_results(self) -> None:
        """Move the keyboard focus to the results grid (the first result if none is current)."""
        self.results_view.setFocus()
        if not self.results_view.currentIndex().isValid() and self.results_model.rowCount() > 0:
            self.results_view.setCurrentIndex(self.results_model.index(0))

    def _preview_index(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        from zssbir_core.api import read_photo_metadata

        path = Path(index.data(PathRole))
        try:
            meta = read_photo_metadata(path)
            date_text = (
                f"{meta.date:%Y-%m-%d %H:%M}"
                + ("" if meta.taken else " (file date)")
                + f" · {meta.width}×{meta.height}"
            )
        except ZssbirError as error:
            date_text = f"cannot read: {getattr(error, 'reason', error)}"
        key = (int(index.data(PhotoIdRole)), "preview")
        self._preview_key = key
        self.preview.show_result(
            path, float(index.data(ScoreRole)), date_text, self.thumbnails.pixmap(key, path, PREVIEW_SIZE)
        )
        self.thumbnails.ready.connect(self._preview_ready, Qt.ConnectionType.UniqueConnection)

    def _preview_ready(self, key: Any) -> None:
        if key == self._preview_key:
            self.preview.set_pixmap(self.thumbnails.pixmap(key, Path(), PREVIEW_SIZE))

    # == settings, messages, closing =============================================================

    def settings_dialog(self) -> SettingsDialog:
        """A settings dialog for the current preferences, with every registered extra page."""
        devices: dict[str, str] | None = None
        models = [(choice.spec, choice.label) for choice in model_choices()]
        try:
            from zssbir_core.api import available_devices

            devices = {}
            for info in available_devices():
                devices.setdefault(info.name.split(":")[0], info.description)
        except ZssbirError as error:
            log.warning("settings: %s", error)
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
        """Store ``new`` and apply each change (theme, thumbnails, model, library)."""
        old, self.prefs = self.prefs, new
        save_preferences(new, self.settings)
        if new.theme != old.theme and self._apply_theme is not None:
            self._apply_theme(new.theme)
        if new.thumbnail_size != old.thumbnail_size:
            self.results_model.set_thumbnail_size(new.thumbnail_size)
            self.results_view.set_thumbnail_size(new.thumbnail_size)
        if new.results_count != old.results_count:
            self.k_spin.setValue(new.results_count)
        if new.exclude_patterns != old.exclude_patterns and self.engine.library is not None:
            try:
                self.engine.library.set_exclude_patterns(new.exclude_patterns)
            except ZssbirError as error:
                self.show_error(f"The exclude patterns could not be saved: {error}")
        if new.library_dir != old.library_dir:
            from zssbir_desktop.settings import library_directory

            self.open_library(library_directory(new))
        if (new.model, new.device, new.weights_file) != (old.model, old.device, old.weights_file):
            self._download_offered = False
            self.load_model()

    def show_error(self, text: str, kind: str = "error") -> None:
        """Show a readable message in the window (and log it)."""
        log.warning("shown to the user: %s", text)
        self.message_bar.show_message(text, kind)

    @staticmethod
    def _describe(error: BaseException) -> str:
        if isinstance(error, ZssbirError):
            return str(error)
        if isinstance(error, OSError) and error.strerror:
            return f"{error.strerror} ({error.filename})" if error.filename else error.strerror
        return f"unexpected {type(error).__name__}: {error}. Details are in {log_file()}"

    def show_about(self) -> None:
        """A short About box."""
        from PySide6.QtWidgets import QMessageBox

        from zssbir_core.api import __version__

        QMessageBox.about(
            self,
            "About zssbir",
            f"<b>zssbir {__version__}</b><p>Find your photos by drawing them: zero-shot sketch-based image "
            "retrieval (Tursun et al. 2022) on your own computer.</p>",
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        for guard in self.close_guards:
            if not guard():
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
