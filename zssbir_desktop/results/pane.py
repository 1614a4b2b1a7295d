"""The results side of the window: a header (count, folder filter, page size, "Show more"), the
first-run page inviting to add a folder, the results grid, and the preview of one result."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from zssbir_core.errors import ZssbirError
from zssbir_desktop.results.folder_button import FolderButton
from zssbir_desktop.results.model import PathRole, PhotoIdRole, ResultsModel, ScoreRole
from zssbir_desktop.results.preview import PREVIEW_SIZE, PreviewPanel
from zssbir_desktop.results.thumbnails import ThumbnailLoader
from zssbir_desktop.results.view import ResultsView


def photo_details(path: Path) -> str:
    """The preview's line about ``path``: when it was taken (or the file's date) and its size."""
    from zssbir_core.api import read_photo_metadata

    try:
        meta = read_photo_metadata(path)
    except ZssbirError as error:
        return f"cannot read: {getattr(error, 'reason', error)}"
    return f"{meta.date:%Y-%m-%d %H:%M}" + ("" if meta.taken else " (file date)") + f" · {meta.width}×{meta.height}"


class ResultsPane(QSplitter):
    """The header and grid above the preview. The preview shows while a result is hovered or
    selected (the hovered one first), unless it is switched off (``set_preview_enabled``); the
    rest of the time the grid has the whole pane."""

    def __init__(self, results_model: ResultsModel, thumbnails: ThumbnailLoader, results_count: int,
                 thumbnail_size: int, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.results_model = results_model
        self.thumbnails = thumbnails
        self._preview_key: Hashable = None
        self._has_folders = False
        self._preview_enabled = True
        self.results_view = ResultsView(thumbnail_size)
        self.results_view.setModel(results_model)
        self.results_view.hovered.connect(lambda _index: self._update_preview())
        selection = self.results_view.selectionModel()
        selection.currentChanged.connect(lambda _current, _old: self._update_preview())
        selection.selectionChanged.connect(lambda _selected, _deselected: self._update_preview())
        thumbnails.ready.connect(self._preview_ready)
        results_model.modelReset.connect(self._update_preview)

        self.result_count_label = QLabel("Draw something to search")
        self.result_count_label.setObjectName("resultCount")
        self.k_spin = QSpinBox()
        self.k_spin.setRange(4, 500)
        self.k_spin.setValue(results_count)
        self.k_spin.setToolTip("Number of results")
        self.k_spin.setPrefix("Show ")
        self.folder_button = FolderButton()
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
        self.preview.hide()
        results_box = QWidget()
        layout = QVBoxLayout(results_box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.results_stack, 1)
        self.addWidget(results_box)
        self.addWidget(self.preview)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 1)

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

    def set_has_folders(self, has_folders: bool) -> None:
        """The grid (and preview) once the library has folders, the first-run page before."""
        self._has_folders = has_folders
        self.results_stack.setCurrentWidget(self.results_view if has_folders else self.empty_page)
        self._update_preview()

    def set_preview_enabled(self, enabled: bool) -> None:
        """Show the preview of the hovered or selected result (True), or never (False)."""
        self._preview_enabled = enabled
        self._update_preview()

    def previewed(self) -> QModelIndex:
        """The result to preview: the hovered one, else the current one if it is selected, else
        the first selected one (invalid: none)."""
        view = self.results_view
        hovered = view.hovered_index()
        if hovered.isValid():
            return hovered
        selection = view.selectionModel()
        current = view.currentIndex()
        if current.isValid() and selection.isSelected(current):
            return current
        selected = selection.selectedIndexes()
        return selected[0] if selected else QModelIndex()

    def _update_preview(self) -> None:
        index = self.previewed() if self._has_folders and self._preview_enabled else QModelIndex()
        if index.isValid() and (int(index.data(PhotoIdRole)), "preview") != self._preview_key:
            self.show_preview(index)
        self.preview.setVisible(index.isValid())

    def clear(self) -> None:
        """No query: no results, nothing previewed."""
        self.results_model.clear()
        self.preview.show_nothing()
        self._preview_key = None
        self._update_preview()

    def set_thumbnail_size(self, size: int) -> None:
        """Draw the grid's thumbnails ``size`` pixels wide."""
        self.results_model.set_thumbnail_size(size)
        self.results_view.set_thumbnail_size(size)

    def show_preview(self, index: QModelIndex) -> None:
        """Preview the result at ``index`` (its larger picture follows when loaded)."""
        if not index.isValid():
            return
        path = Path(index.data(PathRole))
        key = (int(index.data(PhotoIdRole)), "preview")
        self._preview_key = key
        pixmap = self.thumbnails.pixmap(key, path, PREVIEW_SIZE)
        self.preview.show_result(path, float(index.data(ScoreRole)), photo_details(path), pixmap)

    def _preview_ready(self, key: Hashable) -> None:
        if key == self._preview_key:
            self.preview.set_pixmap(self.thumbnails.pixmap(key, Path(), PREVIEW_SIZE))
