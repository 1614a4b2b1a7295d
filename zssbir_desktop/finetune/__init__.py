"""In-app fine-tuning: the Settings -> Fine-tuning page, the training child process, model switching.

``install_fine_tuning(window)`` wires it into the main window through the window's extension
points: a settings page factory (``window.settings_pages``) and a close guard
(``window.close_guards``) that asks whether to stop a running fine-tune or model switch. The
switch itself ("Use this model": re-embed, then swap) is the engine's (``Engine.switch_model``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox, QWidget

from zssbir_core.api import model_choices
from zssbir_desktop.finetune.controller import FineTuneController
from zssbir_desktop.finetune.loss_plot import LossPlot
from zssbir_desktop.finetune.panel import FineTunePanel
from zssbir_desktop.finetune.runner import TrainingOutcome, TrainingRunner

if TYPE_CHECKING:
    from zssbir_core.api import IndexProgress
    from zssbir_desktop.engine import Engine
    from zssbir_desktop.settings.dialog import SettingsDialog
    from zssbir_desktop.window.main_window import MainWindow

__all__ = [
    "FineTuneController",
    "FineTunePanel",
    "FineTuning",
    "LossPlot",
    "TrainingOutcome",
    "TrainingRunner",
    "confirm_close",
    "install_fine_tuning",
    "starting_models",
]


def starting_models(controller: FineTuneController, current: str) -> list[tuple[str, str]]:
    """(spec, label) of the models a fine-tune can start from, the one in use first."""
    models = [(choice.spec, choice.label) for choice in model_choices(include_stored=False)]
    try:
        models += [(str(m.checkpoint_dir), f"{m.name} (trained {m.created[:10]})") for m in controller.store.list()]
    except Exception:  # noqa: BLE001 - an unreadable store must not keep the page from opening
        pass
    in_use = controller.store.find(current)
    current_spec = str(in_use.checkpoint_dir) if in_use is not None else current
    models.sort(key=lambda pair: pair[0] != current_spec)
    if all(spec != current_spec for spec, _ in models):
        models.insert(0, (current_spec, f"{current_spec} (in use)"))
    return models


def confirm_close(parent: QWidget, controller: FineTuneController, engine: Engine | None = None) -> bool:
    """Ask whether to stop a running fine-tune (or model switch) before the app closes.

    Returns True when the app may close (nothing runs, or the user chose to stop it; the child
    process is then stopped and its temporary files removed), False to keep the app open.
    """
    switching = engine is not None and engine.switching_to() is not None
    busy = controller.is_busy() or switching
    if not busy:
        return True
    what = "A fine-tuning run" if controller.is_busy() else "Re-indexing with the new model"
    answer = QMessageBox.question(
        parent,
        "Stop fine-tuning?",
        f"{what} is still in progress. Stop it and quit? The current model and your photos' index stay as they are.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    if answer != QMessageBox.StandardButton.Yes:
        return False
    controller.shutdown()
    if engine is not None:
        engine.cancel_switch()
    return True


@dataclass(frozen=True)
class FineTuning:
    """What ``install_fine_tuning`` added to a window: the workflow's controller."""

    controller: FineTuneController


def install_fine_tuning(window: MainWindow) -> FineTuning:
    """Add the Fine-tuning page and the close guard to ``window``; "Use this model" asks the
    window's engine to switch (re-embed, then swap) and the preferences to remember the choice."""
    engine = window.engine
    controller = FineTuneController(lambda: window.models.model_spec().spec, parent=window)

    def switched(spec: str) -> None:
        window.preferences.update(model=spec)
        window.show_error("Now searching with the new model.", "info")

    def use_model(spec: str) -> None:
        engine.switch_model(spec, window.preferences.current.device)

    def progress(event: IndexProgress) -> None:
        window.statusBar().showMessage(f"Re-indexing with the new model: {event.done} of {event.total}")

    engine.model_switched.connect(switched)
    engine.switch_failed.connect(lambda message: window.show_error(message[:1].upper() + message[1:], "warning"))
    engine.switch_progress.connect(progress)

    def add_page(dialog: SettingsDialog) -> None:
        from zssbir_core.api import available_devices, training_installed

        if not training_installed():
            from zssbir_desktop.finetune.not_installed import TrainingNotInstalled

            dialog.add_page(TrainingNotInstalled(parent=dialog), "Fine-tuning")
            return
        devices = {info.name.split(":")[0]: info.description for info in available_devices()}
        panel = FineTunePanel(controller, starting_models=starting_models(controller, window.models.model_spec().spec),
                              devices=devices, use_model=use_model, parent=dialog)
        engine.model_switched.connect(panel.refresh_models)
        dialog.add_page(panel, "Fine-tuning")

    window.settings_pages.append(add_page)
    window.close_guards.append(lambda: confirm_close(window, controller, engine))
    return FineTuning(controller)
