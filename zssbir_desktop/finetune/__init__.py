"""In-app fine-tuning: the Settings -> Fine-tuning page, the training child process, model switching.

``install_fine_tuning(window)`` wires it into the main window through the window's extension
points: a settings page factory (``window.settings_pages``) and a close guard
(``window.close_guards``) that asks whether to stop a running fine-tune.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

from zssbir_core.api import model_choices
from zssbir_desktop.finetune.controller import FineTuneController
from zssbir_desktop.finetune.loss_plot import LossPlot
from zssbir_desktop.finetune.panel import FineTunePanel
from zssbir_desktop.finetune.runner import TrainingOutcome, TrainingRunner
from zssbir_desktop.finetune.switcher import ModelSwitcher

__all__ = [
    "FineTuneController",
    "FineTunePanel",
    "LossPlot",
    "ModelSwitcher",
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


def confirm_close(parent: QWidget, controller: FineTuneController, switcher: ModelSwitcher | None = None) -> bool:
    """Ask whether to stop a running fine-tune (or model switch) before the app closes.

    Returns True when the app may close (nothing runs, or the user chose to stop it; the child
    process is then stopped and its temporary files removed), False to keep the app open.
    """
    busy = controller.is_busy() or (switcher is not None and switcher.busy())
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
    if switcher is not None:
        switcher.shutdown()
    return True


def install_fine_tuning(window: Any) -> FineTuneController:
    """Add the Fine-tuning page, the close guard and the model switcher to ``window`` (a MainWindow)."""
    from zssbir_desktop.settings import save_preferences

    controller = FineTuneController(lambda: window.model_spec()[0], parent=window)

    def switched(spec: str) -> None:
        window.prefs.model = spec
        save_preferences(window.prefs, window.settings)
        window.show_error("Now searching with the new model.", "info")

    switcher = ModelSwitcher(window.engine, library_dir=lambda: window.library_dir,
                             device=lambda: window.prefs.device, on_switched=switched, parent=window)
    switcher.failed.connect(lambda message: window.show_error(message[:1].upper() + message[1:], "warning"))
    switcher.progress.connect(
        lambda event: window.statusBar().showMessage(
            f"Re-indexing with the new model: {getattr(event, 'done', 0)} of {getattr(event, 'total', 0)}"))

    def add_page(dialog: Any) -> None:
        from zssbir_core.api import available_devices, training_installed

        if not training_installed():
            from zssbir_desktop.finetune.not_installed import TrainingNotInstalled

            dialog.add_page(TrainingNotInstalled(parent=dialog), "Fine-tuning")
            return
        devices = {info.name.split(":")[0]: info.description for info in available_devices()}
        panel = FineTunePanel(controller, starting_models=starting_models(controller, window.model_spec()[0]),
                              devices=devices, use_model=switcher.use_model, parent=dialog)
        switcher.switched.connect(panel.refresh_models)
        dialog.add_page(panel, "Fine-tuning")

    window.settings_pages.append(add_page)
    window.close_guards.append(lambda: confirm_close(window, controller, switcher))
    window.fine_tuning = controller
    window.model_switcher = switcher
    return controller
