"""The training engine: one ImageNet CNN for sketches and photos, fine-tuned with
``lq * Lq + lc * Lc + lk * Lk`` (domain-balanced quadruplet, semantic classification, knowledge
preservation towards the teacher's class soft labels), with model selection on held-out seen
classes.

``OUTPUT`` must be a new or empty folder, or a run folder (``run_folder.claim_run_folder``); it
receives ``.zssbir-run`` (the marker), ``config.json`` (the resolved settings), ``model/`` (the checkpoint with the
best validation mAP@all, or the last one when there are no validation classes), ``resume/``
(deleted when the run completes), ``history.jsonl`` (one line per validation) and ``summary.json``.

The parts: ``setup`` (data, network, soft labels, optimiser), ``schedule`` (learning rate, time
budget, time left), ``loop`` (the step), ``validation``, ``run_folder`` (the folder and its
records), ``events`` (what is reported); ``Trainer`` runs them in order.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from zssbir_core.data.folder import FolderDataset
from zssbir_core.errors import ZssbirError
from zssbir_core.models import save_checkpoint
from zssbir_core.models.checkpoint import TRAINING_MODEL_DIR as MODEL_DIR
from zssbir_core.models.checkpoint import load_checkpoint
from zssbir_core.models.onnx_export import export_after_training
from zssbir_core.training import distributed, run_folder, setup, state
from zssbir_core.training.callbacks import CallbackList, TrainingCallback
from zssbir_core.training.config import TrainConfig
from zssbir_core.training.events import EndEvent, Event, StartEvent, StepEvent, TeacherEvent, ValidationEvent
from zssbir_core.training.loop import SkipBatches, TrainStep, train_loader
from zssbir_core.training.schedule import Schedule
from zssbir_core.training.validation import Validator
from zssbir_core.training.weight_average import average_weights


@dataclass
class TrainResult:
    """How a run ended."""

    status: str  # "completed" or "interrupted"
    checkpoint: Path | None
    best_metrics: dict[str, float]
    steps: int
    wall_s: float


class Trainer:
    """Runs one training described by ``config`` on the dataset folder ``data_root``.

    ``stop`` is polled after every step: when set, the trainer saves a resumable state and returns
    with status ``interrupted``. ``resume=True`` continues from ``output/resume`` (and starts
    afresh when nothing was saved there yet).
    """

    def __init__(
        self,
        config: TrainConfig,
        data_root: str | Path,
        output: str | Path,
        *,
        device: str = "auto",
        callbacks: Sequence[TrainingCallback] = (),
        stop: threading.Event | None = None,
        resume: bool = False,
    ) -> None:
        self.config = config
        self.data_root = Path(data_root)
        self.output = Path(output)
        self.device_name = device
        self.stop = stop or threading.Event()
        self.resume = resume
        self.context, self.device = distributed.setup(device)
        self.callbacks = CallbackList(callbacks if self.context.is_main else ())

    def run(self) -> TrainResult:
        """Train; return how it ended. Raises ``ZssbirError`` subclasses for bad input."""
        try:
            return self._run()
        finally:
            self.callbacks.close()
            distributed.teardown(self.context)

    def _emit(self, event: Event) -> None:
        self.callbacks.on_event(event)

    def _run(self) -> TrainResult:
        cfg = self.config
        started = time.perf_counter()
        if self.context.is_main and self.output.exists():  # refuse a user's folder before any work
            run_folder.claim_run_folder(self.output, resume=self.resume)
        if self.resume and self.context.is_main and (self.output / run_folder.SUMMARY_FILE).is_file() \
                and not state.has_resume_state(self.output):
            end = run_folder.read_summary(self.output)
            self._emit(end)
            return TrainResult("completed", self.output / MODEL_DIR, end.best_metrics, end.steps, 0.0)

        train, val, val_names = setup.load_data(self.data_root, cfg)
        self._prepare_output()
        soft_labels = setup.soft_labels(train, cfg, self.device, self.context, self._teacher_progress)
        # Seeded after the teacher, whose weights may come from the cache or a fresh network.
        setup.seed_everything(cfg.seed)
        net = setup.prepare_net(cfg, len(train.classes), self.device)
        optimizer, scaler = setup.build_optimizer(net.net, cfg, self.device, net.amp_dtype)
        data = setup.with_drawings(train, cfg)
        train = data.train  # the checkpoint's data fingerprint covers the drawn samples too
        sampler = setup.batch_sampler(train, cfg, self.context)
        total_steps = len(sampler) * cfg.epochs

        progress = state.Progress()
        if self.resume and state.has_resume_state(self.output):
            progress = state.load_resume_state(self.output, net.net, optimizer, scaler)
        model: nn.Module = net.net
        if self.context.enabled:
            model = nn.parallel.DistributedDataParallel(
                net.net, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        step = TrainStep(cfg, net, model, optimizer, scaler, soft_labels, self.device)
        validator = Validator(val, cfg, self.device) if val is not None and self.context.is_main else None
        schedule = Schedule(cfg, total_steps, self.context, self.device, progress.elapsed_s)

        self._emit(StartEvent(
            total_steps=total_steps, epochs=cfg.epochs, steps_per_epoch=len(sampler), train_classes=len(train.classes),
            val_classes=val_names, device=str(self.device),
            precision=str(net.amp_dtype).replace("torch.", "") if net.amp_dtype else "fp32",
            world_size=self.context.world_size, resumed_from_step=progress.step,
        ))
        interrupted = out_of_time = False
        net.net.train()
        for module in net.frozen_norms:
            module.eval()
        for epoch in range(progress.epoch, cfg.epochs):
            sampler.set_epoch(epoch)
            loader = train_loader(data, SkipBatches(sampler, progress.batch_in_epoch), epoch, net, cfg, self.device)
            for images, labels, domains in loader:
                tick = time.perf_counter()
                done = schedule.fraction_done(progress.step)
                if done >= 1.0:
                    out_of_time = True
                    break
                factor = schedule.lr_factor(progress.step, done)
                step.set_lr_factor(factor)
                losses = step(images, labels, domains)
                progress.step += 1
                progress.batch_in_epoch += 1
                schedule.record_step(time.perf_counter() - tick)
                if self.context.is_main:
                    self._emit(StepEvent(
                        step=progress.step, epoch=epoch + 1, losses=losses, lr=cfg.lr * factor,
                        images_per_s=len(labels) * self.context.world_size / schedule.last_step_s(),
                        eta_s=schedule.eta_s(progress.step, epoch), metric=progress.last_metric,
                    ))
                # Checked before the next batch is drawn, so a resumed run sees the same batches
                # and augmentations as one that never stopped.
                if distributed.any_rank(self.stop.is_set(), self.context, self.device):
                    interrupted = True
                    break
            if interrupted:
                break
            progress.epoch = epoch + 1
            progress.batch_in_epoch = 0
            last_epoch = epoch + 1 == cfg.epochs or out_of_time
            if validator is not None and schedule.validates_after(epoch, last_epoch):
                self._validate(validator, net, train, val_names, progress, schedule)
            if self.context.is_main and val is None and last_epoch:
                progress.best_epoch = epoch + 1
                self._save_model(net, train, val_names, progress)
            if self.context.is_main and not last_epoch:
                progress.elapsed_s = schedule.elapsed_s()
                state.save_resume_state(self.output, net.net, optimizer, scaler, progress)
            distributed.barrier(self.context)
            if out_of_time:
                break

        progress.elapsed_s = schedule.elapsed_s()
        status = "interrupted" if interrupted else "completed"
        checkpoint = self.output / MODEL_DIR if (self.output / MODEL_DIR).is_dir() else None
        if self.context.is_main:
            if not interrupted and checkpoint is not None:
                export_after_training(checkpoint)  # so that the model runs in the default install, without torch
            if interrupted:
                state.save_resume_state(self.output, net.net, optimizer, scaler, progress)
            else:
                state.remove_resume_state(self.output)
            end = EndEvent(
                status=status, checkpoint=str(checkpoint) if checkpoint else None, best_metrics=progress.best_metrics,
                best_epoch=progress.best_epoch, steps=progress.step, wall_s=round(time.perf_counter() - started, 3),
                train_s=round(progress.elapsed_s, 3),
            )
            if not interrupted:
                run_folder.write_summary(self.output, end)
            self._emit(end)
        return TrainResult(status, checkpoint, progress.best_metrics, progress.step, time.perf_counter() - started)

    def _prepare_output(self) -> None:
        """Claim the run folder and write ``config.json`` (rank 0); refuse a started run without ``resume``."""
        if not self.context.is_main:
            return
        if self.output.exists() and not self.output.is_dir():
            raise ZssbirError(f"--output {self.output} exists and is not a folder")
        started = state.has_resume_state(self.output) or (self.output / run_folder.SUMMARY_FILE).is_file()
        if started and not self.resume:
            raise ZssbirError(
                f"{self.output} already holds a training run; pass --resume to continue it, or choose another --output"
            )
        run_folder.claim_run_folder(self.output, resume=self.resume)
        run_folder.write_config(self.output, self.data_root, self.config.to_dict())

    def _teacher_progress(self, done: int, total: int) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt
        self._emit(TeacherEvent(done=done, total=total))

    def _validate(self, validator: Validator, net: setup.NetSetup, train: FolderDataset, val_names: list[str],
                  progress: state.Progress, schedule: Schedule) -> None:
        """Score the epoch's network; keep it as the model when it is the best so far; record and report."""
        tick = time.perf_counter()
        metrics = validator(net)
        schedule.record_validation(time.perf_counter() - tick)
        best = progress.best_metric is None or metrics["map_all"] > progress.best_metric
        progress.last_metric = metrics["map_all"]
        if best:
            progress.best_metric, progress.best_epoch, progress.best_metrics = metrics["map_all"], progress.epoch, metrics
            self._save_model(net, train, val_names, progress)
        event = ValidationEvent(epoch=progress.epoch, step=progress.step, metrics=metrics, best=best)
        run_folder.append_history(self.output, event)
        self._emit(event)

    def _save_model(self, net: setup.NetSetup, train: FolderDataset, val_names: list[str],
                    progress: state.Progress) -> None:
        training = {
            "config": self.config.to_dict(),
            "data": str(self.data_root.resolve()),
            "data_fingerprint": train.fingerprint(),
            "val_classes": val_names,
            "epoch": progress.best_epoch,
            "step": progress.step,
        }
        metrics = {f"val_{key}": value for key, value in progress.best_metrics.items()}
        model = net.net
        partner = setup.averaged_with(self.config)
        if partner is not None:
            model = self._averaged_with(model, partner)
        save_checkpoint(model, self.output / MODEL_DIR, classes=list(train.classes), training=training,
                        metrics=metrics, preprocessing=net.preprocessing)

    def _averaged_with(self, trained: nn.Module, folder: str) -> nn.Module:
        """A copy of ``trained`` holding its weight average with the model in ``folder`` (``finetuned_share``)."""
        init, _ = load_checkpoint(folder)
        averaged = copy.deepcopy(trained)
        averaged.load_state_dict(average_weights(trained, init, self.config.finetuned_share))
        return averaged
