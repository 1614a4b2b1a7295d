"""Settings -> Fine-tuning: choose the data, check it, estimate, train, and manage the trained models.

The page is a view on a ``FineTuneController`` that outlives it: closing the settings dialog does
not stop a training run, and reopening it shows the run where it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from zssbir_core.api import StartEvent, StepEvent, TrainingEvent, format_duration
from zssbir_core.errors import ZssbirError
from zssbir_desktop.finetune.controller import FineTuneController, figures_text
from zssbir_desktop.finetune.loss_plot import LossPlot

DEVICE_LABELS = {"auto": "Automatic (GPU if there is one)", "cpu": "CPU", "cuda": "CUDA GPU", "mps": "Apple GPU (MPS)"}


class FineTunePanel(QScrollArea):
    """The Fine-tuning page. ``use_model`` is called with a checkpoint directory for “Use this model”."""

    def __init__(
        self,
        controller: FineTuneController,
        *,
        starting_models: list[tuple[str, str]],
        devices: dict[str, str] | None = None,
        use_model: Callable[[str], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("fineTunePanel")
        self.setWidgetResizable(True)
        self.controller = controller
        self.use_model_callback = use_model
        self._estimates: dict[tuple[str, str, str], str] = {}
        self._started_at = 0.0
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self._data_group())
        layout.addWidget(self._training_group(starting_models, devices))
        layout.addWidget(self._models_group())
        layout.addStretch(1)
        self.setWidget(body)

        controller.check_finished.connect(self._show_report)
        controller.check_failed.connect(self._show_check_error)
        controller.estimate_finished.connect(self._show_estimate)
        controller.estimate_failed.connect(lambda message: self.estimate_label.setText(message))
        controller.run_started.connect(self._run_started)
        controller.training_event.connect(self._on_event)
        controller.run_finished.connect(self._run_finished)
        controller.busy_changed.connect(self._update_buttons)
        controller.models_changed.connect(self.refresh_models)
        controller.store_action_finished.connect(self._store_action_finished)
        controller.status.connect(self.status_label.setText)
        self._restore_state()

    # -- building ------------------------------------------------------------------------------

    def _data_group(self) -> QGroupBox:
        group = QGroupBox("Your data")
        form = QFormLayout(group)
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText(
            "A folder of class folders: photo/<class>/ and sketch/<class>/, or <class>/")
        self.folder_edit.returnPressed.connect(self.check_folder)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse_folder)
        self.check_button = QPushButton("Check")
        self.check_button.setToolTip("Look at every image and report classes, counts and problems")
        self.check_button.clicked.connect(self.check_folder)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(self.browse_button)
        row.addWidget(self.check_button)
        form.addRow("Data folder:", row)
        self.summary_label = QLabel("Choose a folder with one sub-folder per class (your dog, your bike, …).")
        self.summary_label.setObjectName("fineTuneSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.summary_label)
        self.class_table = QTableWidget(0, 3)
        self.class_table.setHorizontalHeaderLabels(["Class", "Photos", "Sketches"])
        self.class_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.class_table.verticalHeader().hide()
        self.class_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.class_table.setMaximumHeight(150)
        form.addRow(self.class_table)
        return group

    def _training_group(self, starting_models: list[tuple[str, str]], devices: dict[str, str] | None) -> QGroupBox:
        group = QGroupBox("Training")
        form = QFormLayout(group)
        self.device_combo = QComboBox()
        for name, label in DEVICE_LABELS.items():
            if devices is None or name == "auto" or name in devices:
                self.device_combo.addItem(label, name)
        form.addRow("Device:", self.device_combo)
        self.recipe_combo = QComboBox()
        from zssbir_core.api import fine_tuning_recipes

        for recipe in fine_tuning_recipes():
            self.recipe_combo.addItem(recipe.capitalize(), recipe)
        self.recipe_combo.setToolTip("Quick: a few minutes on a CPU; Standard: better; Thorough: best, for a GPU")
        self.estimate_button = QPushButton("Estimate time")
        self.estimate_button.setToolTip("Runs a few real training steps on this machine and extrapolates")
        self.estimate_button.clicked.connect(self.estimate)
        row = QHBoxLayout()
        row.addWidget(self.recipe_combo, 1)
        row.addWidget(self.estimate_button)
        form.addRow("Duration:", row)
        self.estimate_label = QLabel("")
        self.estimate_label.setObjectName("fineTuneEstimate")
        self.estimate_label.setWordWrap(True)
        form.addRow(self.estimate_label)
        self.init_combo = QComboBox()
        for spec, label in starting_models:
            self.init_combo.addItem(label, spec)
        self.init_combo.setToolTip("The model the fine-tuning starts from (usually the one you use)")
        form.addRow("Start from:", self.init_combo)
        for combo in (self.device_combo, self.recipe_combo, self.init_combo):
            combo.currentIndexChanged.connect(self._show_known_estimate)

        self.start_button = QPushButton("Start fine-tuning")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.controller.cancel)
        row = QHBoxLayout()
        row.addWidget(self.start_button)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        form.addRow(row)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.time_left_label = QLabel("")
        self.time_left_label.setObjectName("fineTuneTimeLeft")
        row = QHBoxLayout()
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.time_left_label)
        form.addRow(row)
        self.loss_plot = LossPlot()
        form.addRow(self.loss_plot)
        self.status_label = QLabel("")
        self.status_label.setObjectName("fineTuneStatus")
        self.status_label.setWordWrap(True)
        form.addRow(self.status_label)
        return group

    def _models_group(self) -> QGroupBox:
        group = QGroupBox("Trained models")
        layout = QVBoxLayout(group)
        self.model_table = QTableWidget(0, 5)
        self.model_table.setHorizontalHeaderLabels(["Name", "Trained", "mAP@all", "P@10", "Data"])
        for column in (2, 3):
            item = self.model_table.horizontalHeaderItem(column)
            if item is not None:
                item.setToolTip(
                    "This model on held-out images of its training data; in brackets the model that was in use then")
        header = self.model_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.model_table.verticalHeader().hide()
        self.model_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.model_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.model_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.model_table.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.model_table)
        row = QHBoxLayout()
        self.use_button = QPushButton("Use this model")
        self.use_button.setToolTip("Re-index your photos with it in the background; search switches when done")
        self.use_button.clicked.connect(self.use_selected)
        self.rename_button = QPushButton("Rename…")
        self.rename_button.clicked.connect(self.rename_selected)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self.export_selected)
        self.import_button = QPushButton("Import…")
        self.import_button.clicked.connect(self.import_model)
        for button in (self.use_button, self.rename_button, self.delete_button, self.export_button,
                       self.import_button):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.models_message = QLabel("")
        self.models_message.setObjectName("fineTuneModelsMessage")
        self.models_message.setWordWrap(True)
        layout.addWidget(self.models_message)
        self.refresh_models()
        return group

    # -- data ------------------------------------------------------------------------------------

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of class folders", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)
            self.check_folder()

    def check_folder(self) -> None:
        if self.controller.is_busy():  # the run trains on the checked folder: keep it as it is
            return
        text = self.folder_edit.text().strip()
        if not text:
            self._show_check_error("Choose a data folder first.")
            return
        if not Path(text).expanduser().is_dir():
            self._show_check_error(f"{text} is not a folder.")
            return
        self.summary_label.setText("Checking every image…")
        self.class_table.setRowCount(0)
        self.check_button.setEnabled(False)
        self.start_button.setEnabled(False)
        self.controller.check_folder(text)

    def _show_check_error(self, message: str) -> None:
        self.check_button.setEnabled(True)
        self.class_table.setRowCount(0)
        self.summary_label.setText(f"<b>This folder cannot be used:</b> {_escape(message)}")
        self._update_buttons()

    def _show_report(self, report: Any) -> None:
        self.check_button.setEnabled(True)
        self.folder_edit.setText(str(report.root))
        lines = _escape(report.summary()).replace("\n", "<br>")
        self.summary_label.setText(lines if report.ok else f"<b>This folder cannot be used.</b><br>{lines}")
        self.class_table.setRowCount(len(report.classes))
        for row, count in enumerate(report.classes):
            for column, value in enumerate((count.name, str(count.photos), str(count.sketches))):
                item = QTableWidgetItem(value)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.class_table.setItem(row, column, item)
        self._estimates.clear()
        self._update_buttons()

    # -- training ----------------------------------------------------------------------------

    def _choice(self) -> tuple[str, str, str]:
        return (self.recipe_combo.currentData(), self.device_combo.currentData(), self.init_combo.currentData())

    def estimate(self) -> None:
        self.estimate_label.setText("Measuring a few training steps on this machine…")
        self._launch(self.controller.estimate)

    def start(self) -> None:
        self._launch(self.controller.start_training)

    def _launch(self, action: Callable[[str, str, str], None]) -> None:
        try:
            action(*self._choice())
        except ZssbirError as error:
            self.status_label.setText(str(error))
        except OSError as error:
            self.status_label.setText(f"Cannot prepare the run: {error.strerror or error}")

    def _show_estimate(self, estimate: Any) -> None:
        recipe, device, init = self._choice()
        self._estimates[(estimate.recipe, device, init)] = estimate.describe()
        self._show_known_estimate()

    def _show_known_estimate(self) -> None:
        known = self._estimates.get(self._choice())
        if known:
            self.estimate_label.setText(f"Estimated time: {known}")
        elif self._estimates:
            self.estimate_label.setText("")

    def _run_started(self) -> None:
        self._started_at = time.monotonic()
        self.loss_plot.clear()
        self.progress_bar.setRange(0, 0)
        self.time_left_label.setText("")

    def _on_event(self, event: TrainingEvent) -> None:
        if isinstance(event, StartEvent):
            self.loss_plot.clear(event.total_steps)
            self.progress_bar.setRange(0, max(event.total_steps, 1))
            self.progress_bar.setValue(event.resumed_from_step)
        elif isinstance(event, StepEvent):
            self.progress_bar.setValue(event.step)
            self.loss_plot.add_point(event.step, event.losses.total)
            self.time_left_label.setText(f"{format_duration(event.eta_s)} left")

    def _run_finished(self, status: str, message: str) -> None:
        if self.progress_bar.maximum() == 0:
            self.progress_bar.setRange(0, 1)
        if status == "completed":
            self.progress_bar.setValue(self.progress_bar.maximum())
        self.time_left_label.setText("")
        self.status_label.setText(message)

    def _restore_state(self) -> None:
        """Show what the controller already knows (the dialog was reopened during a run)."""
        controller = self.controller
        if controller.report is not None:
            self._show_report(controller.report)
        if controller.total_steps:
            self.loss_plot.clear(controller.total_steps)
            self.progress_bar.setRange(0, controller.total_steps)
        for step, loss in controller.losses:
            self.loss_plot.add_point(step, loss)
        if controller.losses:
            self.progress_bar.setValue(controller.losses[-1][0])
        self.status_label.setText(controller.last_status)
        self._update_buttons()

    def _update_buttons(self, *_args: Any) -> None:
        busy = self.controller.is_busy()
        ready = self.controller.report is not None and self.controller.report.ok
        self.start_button.setEnabled(ready and not busy)
        self.estimate_button.setEnabled(ready and not busy)
        self.cancel_button.setEnabled(busy)
        for widget in (self.check_button, self.folder_edit, self.browse_button):
            widget.setEnabled(not busy)
        selected = self.selected_model() is not None
        for button in (self.use_button, self.rename_button, self.delete_button):
            button.setEnabled(selected)
        copying = self.controller.store_busy()
        self.export_button.setEnabled(selected and not copying)
        self.import_button.setEnabled(not copying)

    # -- models ------------------------------------------------------------------------------

    def refresh_models(self) -> None:
        try:
            models = self.controller.store.list()
        except ZssbirError as error:
            self.models_message.setText(str(error))
            models = []
        in_use = self.controller.store.find(self.controller.current_model())
        self._models = models
        self.model_table.setRowCount(len(models))
        for row, model in enumerate(models):
            figures = model.figures
            values = [
                model.name + ("  (in use)" if in_use is not None and in_use.key == model.key else ""),
                model.created[:16].replace("T", " "),
                _pair(figures, "map_all"),
                _pair(figures, "p_10"),
                model.data_folder or "",
            ]
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, model.key)
                item.setToolTip(figures_text(figures))
                self.model_table.setItem(row, column, item)
        self._update_buttons()

    def selected_model(self) -> Any:
        rows = self.model_table.selectionModel().selectedRows() if self.model_table.selectionModel() else []
        if not rows:
            return None
        row = rows[0].row()
        return self._models[row] if 0 <= row < len(self._models) else None

    def select_model(self, key: str) -> None:
        for row, model in enumerate(self._models):
            if model.key == key:
                self.model_table.selectRow(row)

    def use_selected(self) -> None:
        model = self.selected_model()
        if model is None or self.use_model_callback is None:
            return
        self.models_message.setText(
            f"Re-indexing your photos with “{model.name}” in the background; search keeps using the current "
            "model until it is done.")
        self.use_model_callback(str(model.checkpoint_dir))

    def rename_selected(self) -> None:
        model = self.selected_model()
        if model is None:
            return
        name, ok = QInputDialog.getText(self, "Rename model", "New name:", text=model.name)
        if ok:
            self._store_action(lambda: self.controller.store.rename(model.key, name))

    def delete_selected(self) -> None:
        model = self.selected_model()
        if model is None:
            return
        answer = QMessageBox.question(self, "Delete model", f"Delete the trained model “{model.name}”?")
        if answer == QMessageBox.StandardButton.Yes:
            self._store_action(lambda: self.controller.store.delete(model.key, in_use=self.controller.current_model()))

    def export_selected(self) -> None:
        model = self.selected_model()
        if model is None:
            return
        target, _ = QFileDialog.getSaveFileName(self, "Export the model as a new folder", model.name)
        if target:
            self.export_to(model.key, target)

    def export_to(self, key: str, target: str | Path) -> None:
        """Export the stored model ``key`` to the new folder ``target`` in the background."""
        self.models_message.setText(f"Exporting to {target}…")
        self.controller.export_model(key, target)
        self._update_buttons()

    def import_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Checkpoint folder to import (model.json + model.safetensors)")
        if folder:
            self.import_from(folder)

    def import_from(self, folder: str | Path) -> None:
        """Import the checkpoint ``folder`` in the background; the page stays usable meanwhile."""
        self.models_message.setText(f"Checking and importing {folder}…")
        self.controller.import_model(folder)
        self._update_buttons()

    def _store_action_finished(self, _ok: bool, message: str) -> None:
        self.models_message.setText(message)
        self._update_buttons()

    def _store_action(self, action: Callable[[], Any], done: str = "") -> None:
        try:
            action()
        except ZssbirError as error:
            self.models_message.setText(str(error))
            return
        self.models_message.setText(done)
        self.refresh_models()


def _pair(figures: dict[str, Any], key: str) -> str:
    model, baseline = figures.get("model") or {}, figures.get("baseline") or {}
    if key not in model:
        return "–"
    return f"{model[key]:.3f}" + (f" ({baseline[key]:.3f})" if key in baseline else "")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
