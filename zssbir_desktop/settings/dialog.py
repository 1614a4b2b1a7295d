"""The settings dialog: one tab per topic; other features add their own page with ``add_page``."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from zssbir_core.api import weights_file_model
from zssbir_core.errors import ZssbirError
from zssbir_desktop.settings.preferences import THEMES, Preferences

DEVICE_LABELS = {"auto": "Automatic", "cpu": "CPU", "cuda": "CUDA GPU", "mps": "Apple GPU (MPS)"}

log = logging.getLogger("zssbir.desktop")


def choices_here() -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The dialog's ``devices`` and ``models`` on this computer (no devices when they cannot be listed)."""
    from zssbir_core.api import available_devices, model_choices

    devices: dict[str, str] = {}
    try:
        for info in available_devices():
            devices.setdefault(info.name.split(":")[0], info.description)
    except ZssbirError as error:
        log.warning("settings: %s", error)
    return devices, [(choice.spec, choice.label) for choice in model_choices()]


class SettingsDialog(QDialog):
    """Edits a copy of the preferences; ``preferences()`` returns the edited copy after ``accept``.

    ``devices`` maps device names to a description of what is available (names absent from it are
    shown greyed out); ``models`` lists (spec, label) pairs of built-in and trained models.
    """

    def __init__(
        self,
        prefs: Preferences,
        *,
        devices: dict[str, str] | None = None,
        models: list[tuple[str, str]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setObjectName("settingsDialog")
        self._prefs = prefs
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._library_page(prefs), "Library")
        self.tabs.addTab(self._search_page(prefs), "Search")
        self.tabs.addTab(self._model_page(prefs, devices, models), "Model")
        self.tabs.addTab(self._appearance_page(prefs), "Appearance")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)
        self.resize(560, 440)

    # -- the place where other features (fine-tuning) plug in ---------------------------------

    def add_page(self, widget: QWidget, title: str) -> int:
        """Add a page (e.g. "Fine-tuning") as a new tab; returns its index."""
        return self.tabs.addTab(widget, title)

    # -- pages ---------------------------------------------------------------------------------

    def _library_page(self, prefs: Preferences) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.library_edit = QLineEdit(prefs.library_dir)
        self.library_edit.setPlaceholderText("Default location")
        self.library_edit.setToolTip("Where the index and thumbnails of your photos are kept")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_library)
        row = QHBoxLayout()
        row.addWidget(self.library_edit)
        row.addWidget(browse)
        form.addRow("Library directory:", row)
        self.rescan_check = QCheckBox("Look for new, changed and deleted photos when the app starts")
        self.rescan_check.setChecked(prefs.rescan_on_start)
        form.addRow(self.rescan_check)
        self.exclude_edit = QPlainTextEdit("\n".join(prefs.exclude_patterns))
        self.exclude_edit.setPlaceholderText("One pattern per line, e.g. *.tmp, Screenshots or /home/me/Photos/private")
        self.exclude_edit.setToolTip(
            "Files and folders matching these patterns are not indexed (letters match in any case).\n"
            "A name (*.tmp, Screenshots) matches anywhere; a path with / is relative to a watched folder;\n"
            "an absolute path leaves out that folder. The list belongs to the library (zssbir-cli sees it too).\n"
            "A folder holding a .nomedia file is always left out."
        )
        form.addRow("Exclude patterns:", self.exclude_edit)
        return page

    def _search_page(self, prefs: Preferences) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.results_spin = QSpinBox()
        self.results_spin.setRange(4, 500)
        self.results_spin.setValue(prefs.results_count)
        self.results_spin.setToolTip("How many photos a search shows before “Show more”")
        form.addRow("Number of results:", self.results_spin)
        self.thumb_spin = QSpinBox()
        self.thumb_spin.setRange(64, 400)
        self.thumb_spin.setSingleStep(16)
        self.thumb_spin.setSuffix(" px")
        self.thumb_spin.setValue(prefs.thumbnail_size)
        form.addRow("Thumbnail size:", self.thumb_spin)
        return page

    def _model_page(
        self,
        prefs: Preferences,
        devices: dict[str, str] | None,
        models: list[tuple[str, str]] | None,
    ) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.device_combo = QComboBox()
        for name, label in DEVICE_LABELS.items():
            description = (devices or {}).get(name)
            text = f"{label} — {description}" if description else label
            self.device_combo.addItem(text, name)
            if devices is not None and name != "auto" and name not in devices:
                index = self.device_combo.count() - 1
                self.device_combo.model().item(index).setEnabled(False)  # type: ignore[attr-defined]
                self.device_combo.setItemText(index, f"{label} (not available)")
        self.device_combo.setCurrentIndex(max(self.device_combo.findData(prefs.device), 0))
        form.addRow("Device:", self.device_combo)
        if devices is not None:
            available = ", ".join(
                f"{DEVICE_LABELS.get(name, name)} ({description})" for name, description in devices.items()
            )
            self.devices_label = QLabel(f"Available on this computer: {available}")
            self.devices_label.setWordWrap(True)
            form.addRow("", self.devices_label)

        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The network that turns sketches and photos into vectors")
        for spec, label in models or []:
            self.model_combo.addItem(label, spec)
        self.model_combo.insertItem(0, "Automatic: the library's own model, else the default", "")
        self._select_model(prefs.model)
        choose_checkpoint = QPushButton("Checkpoint folder…")
        choose_checkpoint.setToolTip("Use a trained model (a folder with model.json)")
        choose_checkpoint.clicked.connect(self._browse_checkpoint)
        row = QHBoxLayout()
        row.addWidget(self.model_combo, 1)
        row.addWidget(choose_checkpoint)
        form.addRow("Model:", row)

        self.weights_edit = QLineEdit(prefs.weights_file)
        self.weights_edit.setPlaceholderText("Downloaded automatically when online")
        choose_weights = QPushButton("Weights file…")
        downloaded = weights_file_model()
        choose_weights.setToolTip(f"A {downloaded.label} weights file (.pth) you already have")
        choose_weights.clicked.connect(self._browse_weights)
        row = QHBoxLayout()
        row.addWidget(self.weights_edit, 1)
        row.addWidget(choose_weights)
        form.addRow(f"{downloaded.label} weights:", row)
        note = QLabel("Changing the model re-indexes your photos in the background.")
        note.setWordWrap(True)
        form.addRow(note)
        return page

    def _appearance_page(self, prefs: Preferences) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.theme_combo = QComboBox()
        for theme in THEMES:
            self.theme_combo.addItem(theme.capitalize(), theme)
        self.theme_combo.setCurrentIndex(max(self.theme_combo.findData(prefs.theme), 0))
        form.addRow("Theme:", self.theme_combo)
        return page

    # -- helpers -------------------------------------------------------------------------------

    def _select_model(self, spec: str) -> None:
        index = self.model_combo.findData(spec)
        if index < 0:
            self.model_combo.addItem(Path(spec).name or spec, spec)
            index = self.model_combo.count() - 1
        self.model_combo.setCurrentIndex(index)

    def _browse_library(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Library directory", self.library_edit.text())
        if folder:
            self.library_edit.setText(folder)

    def _browse_checkpoint(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Trained model (checkpoint folder)")
        if folder:
            self._select_model(folder)

    def _browse_weights(self) -> None:
        downloaded = weights_file_model()
        path, _ = QFileDialog.getOpenFileName(
            self, f"{downloaded.label} weights file", "", "PyTorch weights (*.pth *.pt *.safetensors)"
        )
        if path:
            self.weights_edit.setText(path)
            self._select_model(downloaded.spec)

    def preferences(self) -> Preferences:
        """The preferences as edited in the dialog (a new object; the original is untouched)."""
        patterns = tuple(
            line.strip() for line in self.exclude_edit.toPlainText().splitlines() if line.strip()
        )
        return replace(
            self._prefs,
            device=self.device_combo.currentData(),
            model=self.model_combo.currentData() if self.model_combo.currentData() is not None else self._prefs.model,
            weights_file=self.weights_edit.text().strip(),
            results_count=self.results_spin.value(),
            thumbnail_size=self.thumb_spin.value(),
            rescan_on_start=self.rescan_check.isChecked(),
            exclude_patterns=patterns,
            theme=self.theme_combo.currentData(),
            library_dir=self.library_edit.text().strip(),
        )
