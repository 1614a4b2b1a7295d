"""The fine-tuning workflow, kept alive by the main window while the settings dialog comes and goes.

check the folder -> (optional) measured warm-up for a time estimate -> training in a child process
-> figures of the new and the current model on held-out images -> the model is added to the store.
Cancel, failure or a crash at any point removes the run's temporary folder and changes nothing
else: the current model, the library and its index are never touched here (switching models is
``Engine.switch_model``'s job, and only when the user asks).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Signal

from zssbir_core import paths
from zssbir_core.api import StartEvent, StepEvent, TeacherEvent, TrainingEvent, backbone_of
from zssbir_core.errors import ZssbirError
from zssbir_desktop.finetune.runner import CANCELLED, COMPLETED, TrainingOutcome, TrainingRunner
from zssbir_desktop.workers import Report, TaskRunner

if TYPE_CHECKING:
    from zssbir_core.api import HoldoutSplit, ModelStore, StoredModel, TrainingDataReport

log = logging.getLogger("zssbir.desktop.finetune")

T = TypeVar("T")


@dataclass(frozen=True)
class RunSettings:
    """What a warm-up or training run was started with."""

    recipe: str
    device: str
    init: str
    output: Path


class FineTuneController(QObject):
    """Owns the training runner, the run's temporary folder and the model store of one app window.

    ``current_model`` returns the model spec in use (its figures are shown next to the new
    model's). ``settings_override`` is merged into every run's settings (``--config``); the tests
    use it to make a run take seconds.
    """

    check_finished = Signal(object)  # TrainingDataReport
    check_failed = Signal(str)
    estimate_finished = Signal(object)  # TimeEstimate
    estimate_failed = Signal(str)
    run_started = Signal()
    training_event = Signal(object)  # a TrainingEvent of the training run (not of the warm-up)
    run_finished = Signal(str, str)  # status, message for the user
    busy_changed = Signal(bool)
    models_changed = Signal()
    status = Signal(str)
    store_action_finished = Signal(bool, str)  # ok, message for the user (import, export)

    def __init__(self, current_model: Callable[[], str], *, store: ModelStore | None = None,
                 settings_override: dict[str, Any] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.current_model = current_model
        self._store = store
        self.settings_override = dict(settings_override or {})
        self.runner = TrainingRunner(self)
        self.runner.training_event.connect(self._on_event)
        self.runner.finished.connect(self._on_runner_finished)
        self.tasks = TaskRunner(1, self)
        self.store_tasks = TaskRunner(1, self)
        self._store_busy = False
        self.report: TrainingDataReport | None = None
        self.losses: list[tuple[int, float]] = []
        self.total_steps = 0
        self.last_status = ""
        self._mode = ""
        self._workdir: Path | None = None
        self._split: HoldoutSplit | None = None
        self._run: RunSettings | None = None

    @property
    def store(self) -> ModelStore:
        """The ``ModelStore`` (created on first use: importing it loads torch, which the window's
        start-up must not wait for)."""
        if self._store is None:
            from zssbir_core.api import ModelStore

            self._store = ModelStore()
        return self._store

    # -- state -------------------------------------------------------------------------------

    def is_busy(self) -> bool:
        """True while a warm-up, a training run or the final figures are in progress."""
        return bool(self._mode)

    def is_training(self) -> bool:
        return self.runner.is_running()

    # -- 1. the folder -----------------------------------------------------------------------

    def check_folder(self, folder: str | Path) -> None:
        """Scan ``folder`` in the background; ``check_finished`` or ``check_failed`` follows.

        Refused (``ZssbirError``) while a run is going on: the run's report and work folder stay (a
        check's result replaces both, and the run trains inside that folder)."""
        if self.is_busy():
            raise ZssbirError("a fine-tuning run is going on; check another folder when it has ended")
        folder = Path(folder).expanduser()

        def work(_report: Report, _cancel: threading.Event) -> TrainingDataReport:
            from zssbir_core.api import check_training_folder

            return check_training_folder(folder)

        self.report = None
        self.tasks.start(work, name=f"check {folder}", on_success=self._checked,
                         on_failure=lambda error: self.check_failed.emit(_describe(error)))

    def _checked(self, report: TrainingDataReport) -> None:
        self.report = report
        self._drop_workdir()
        self.check_finished.emit(report)

    # -- 2. estimate and training ------------------------------------------------------------

    def estimate(self, recipe: str, device: str, init: str) -> None:
        """Run the measured warm-up of ``recipe``; ``estimate_finished`` or ``estimate_failed`` follows."""
        self._launch("warmup", recipe, device, init)

    def start_training(self, recipe: str, device: str, init: str) -> None:
        """Fine-tune ``init`` with ``recipe`` on the checked folder, in a child process."""
        self._launch("train", recipe, device, init)

    def cancel(self) -> None:
        """Stop the warm-up or the training (within seconds); nothing is kept."""
        if self.runner.is_running():
            self.runner.cancel()
        else:
            self.tasks.cancel_all()

    def _launch(self, mode: str, recipe: str, device: str, init: str) -> None:
        if self.is_busy():
            raise ZssbirError("a fine-tuning run is already going on")
        if self.report is None or not self.report.ok:
            raise ZssbirError("check a data folder that can be trained on first")
        from zssbir_core.api import split_holdout, warmup_settings

        if self._split is None:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            self._workdir = paths.cache_dir() / "finetune" / f"run-{stamp}"
            dataset = self.report.dataset
            assert dataset is not None  # a report that is ok has one
            self._split = split_holdout(dataset, self._workdir / "split")
        assert self._workdir is not None
        settings = dict(self.settings_override)
        if mode == "warmup":
            settings.update(warmup_settings())
        output = self._workdir / f"{mode}-{_dt.datetime.now().strftime('%H%M%S-%f')}"
        config_file = output.with_suffix(".json")
        with open(config_file, "x", encoding="utf-8") as handle:  # a new file, never through a link
            handle.write(json.dumps(settings))
        args = ["--data", str(self._split.train_root), "--output", str(output), "--recipe", recipe,
                "--config", str(config_file), "--init", init, "--backbone", backbone_of(init),
                "--device", device]
        self._mode = mode
        self._run = RunSettings(recipe, device, init, output)
        self.losses = []
        self.total_steps = 0
        self.busy_changed.emit(True)
        self._set_status("Measuring a few training steps…" if mode == "warmup" else "Starting the training…")
        self.runner.start(args)
        self.run_started.emit()

    def _on_event(self, event: TrainingEvent) -> None:
        if isinstance(event, TeacherEvent) and self._mode == "train":
            self._set_status(f"Preparing soft labels: {event.done} of {event.total} photos")
        elif isinstance(event, StartEvent):
            self.total_steps = event.total_steps
            if self._mode == "train":
                self._set_status(f"Training on {event.device}…")
        elif isinstance(event, StepEvent):
            self.losses.append((event.step, event.losses.total))
        if self._mode == "train":
            self.training_event.emit(event)

    def _on_runner_finished(self, outcome: TrainingOutcome) -> None:
        mode, self._mode = self._mode, ""
        if mode == "warmup":
            self._warmup_finished(outcome)
        elif outcome.status == COMPLETED and outcome.checkpoint is not None:
            self._mode = "figures"
            self._add_model(outcome.checkpoint)
            return
        else:
            self._drop_workdir()
            self._end(outcome.status, outcome.message)
            return
        self.busy_changed.emit(False)

    def _warmup_finished(self, outcome: TrainingOutcome) -> None:
        from zssbir_core.api import estimate_time

        run = self._run
        assert run is not None
        shutil.rmtree(run.output, ignore_errors=True)
        if outcome.status != COMPLETED:
            message = "The time estimate was cancelled." if outcome.status == CANCELLED else outcome.message
            self._set_status(message)
            self.estimate_failed.emit(message)
            return
        try:
            estimate = estimate_time(run.recipe, outcome.step_times, outcome.startup_s)
        except ValueError as error:
            self.estimate_failed.emit(str(error))
            return
        self._set_status(f"Estimated time for '{estimate.recipe}': {estimate.describe()}")
        self.estimate_finished.emit(estimate)

    # -- 3. figures and registration ---------------------------------------------------------

    def _add_model(self, checkpoint: Path) -> None:
        self._set_status("Comparing the new model with the current one on held-out images…")
        current = self.current_model()
        heldout = self._split.heldout_root if self._split is not None else None
        run = self._run
        assert run is not None
        device, recipe = run.device, run.recipe
        folder = self.report.root if self.report is not None else None
        name = f"{Path(folder).name if folder else 'model'} ({recipe}, " \
               f"{_dt.datetime.now().strftime('%Y-%m-%d %H:%M')})"
        store = self.store

        def work(_report: Report, cancel: threading.Event) -> StoredModel | None:
            figures: dict[str, Any] = {"baseline_model": current, "recipe": recipe}
            if heldout is not None and heldout.is_dir():
                from zssbir_core.api import compare_models

                for key, spec in (("model", str(checkpoint)), ("baseline", current)):
                    try:
                        figures[key] = compare_models([spec], heldout, device=_eval_device(device),
                                                      cancel=cancel)[spec]
                    except ZssbirError as error:
                        figures[f"{key}_error"] = str(error)
            if cancel.is_set():
                return None
            return store.add(checkpoint, name=name, data_folder=folder, figures=figures)

        self.tasks.start(work, name="register fine-tuned model", on_success=self._added,
                         on_failure=self._add_failed)

    def _added(self, model: StoredModel | None) -> None:
        self._mode = ""
        self._drop_workdir()
        if model is None:
            self._end(CANCELLED, "Cancelled; the trained model was not kept and nothing was changed.")
            return
        self.models_changed.emit()
        self._end(COMPLETED, f"New model “{model.name}” added. {figures_text(model.figures)}")

    def _add_failed(self, error: BaseException) -> None:
        self._mode = ""
        self._drop_workdir()
        self._end("failed", f"The trained model could not be added: {_describe(error)}")

    def _end(self, status: str, message: str) -> None:
        self._set_status(message)
        self.busy_changed.emit(False)
        self.run_finished.emit(status, message)

    # -- importing and exporting models ----------------------------------------------------------

    def store_busy(self) -> bool:
        """True while an import or export runs."""
        return self._store_busy

    def import_model(self, folder: str | Path) -> None:
        """Copy the checkpoint ``folder`` into the store on a worker thread (checked first: plain
        files only, sizes capped, schema, hash, tensors); ``store_action_finished`` follows."""
        folder = Path(folder)
        store = self.store
        self._store_action(lambda: store.import_checkpoint(folder), f"import {folder}",
                           lambda model: f"Imported {folder} as “{model.name}”.")

    def export_model(self, key: str, target: str | Path) -> None:
        """Copy the stored model ``key`` to the new folder ``target`` on a worker thread."""
        store = self.store
        self._store_action(lambda: store.export(key, Path(target)), f"export {key}",
                           lambda path: f"Exported the model to {path}.")

    def _store_action(self, action: Callable[[], T], name: str, done: Callable[[T], str]) -> None:
        if self.store_busy():
            self.store_action_finished.emit(False, "Another import or export is still running.")
            return

        def succeeded(result: T) -> None:
            self._store_busy = False
            self.models_changed.emit()
            self.store_action_finished.emit(True, done(result))

        def failed(error: BaseException) -> None:
            self._store_busy = False
            self.store_action_finished.emit(False, _describe(error))

        self._store_busy = True
        self.store_tasks.start(lambda _report, _cancel: action(), name=name, on_success=succeeded,
                               on_failure=failed)

    # -- helpers -----------------------------------------------------------------------------

    def _set_status(self, text: str) -> None:
        self.last_status = text
        self.status.emit(text)

    def _drop_workdir(self) -> None:
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = None
        self._split = None

    def shutdown(self, timeout_ms: int = 8000) -> None:
        """Stop whatever runs (app closing) and clean up."""
        if self.runner.is_running():
            self.runner.cancel()
            self.runner.wait(timeout_ms)
        self.tasks.cancel_all()
        self.tasks.wait(timeout_ms)
        self.store_tasks.wait(timeout_ms)
        self._drop_workdir()


def figures_text(figures: dict[str, Any]) -> str:
    """“mAP@all 0.52 (current model 0.31), P@10 …” for a model's figures."""
    model, baseline = figures.get("model"), figures.get("baseline")
    if not model:
        return "No held-out figures." + (f" ({figures['model_error']})" if "model_error" in figures else "")
    parts = []
    for key, label in (("map_all", "mAP@all"), ("p_10", "P@10")):
        if key in model:
            text = f"{label} {model[key]:.3f}"
            if baseline and key in baseline:
                text += f" (current model {baseline[key]:.3f})"
            parts.append(text)
    queries = int(model.get("queries", 0))
    return f"On {queries} held-out sketch queries: " + ", ".join(parts) + "."


def _eval_device(device: str) -> str:
    from zssbir_core.api import resolve_device

    return resolve_device(device)


def _describe(error: BaseException) -> str:
    if isinstance(error, ZssbirError):
        return str(error)
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror} ({error.filename})" if error.filename else error.strerror
    return f"unexpected {type(error).__name__}: {error}"
