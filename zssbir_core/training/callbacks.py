"""What the trainer reports while it runs: a terminal progress bar, or JSON lines for the app.

The trainer calls ``on_event(event)`` with the typed events of ``zssbir_core.training.events``
(teacher, start, step, validation, end).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from zssbir_core.training.events import EndEvent, Event, StartEvent, StepEvent, TeacherEvent, ValidationEvent


class TrainingCallback:
    """Receives every event; subclasses override ``on_event``."""

    def on_event(self, event: Event) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        """Called once when training has ended (normally or not)."""


class CallbackList(TrainingCallback):
    """Fans events out to several callbacks."""

    def __init__(self, callbacks: Sequence[TrainingCallback] = ()) -> None:
        self.callbacks = list(callbacks)

    def on_event(self, event: Event) -> None:
        for callback in self.callbacks:
            callback.on_event(event)

    def close(self) -> None:
        for callback in self.callbacks:
            callback.close()


class JsonLinesProgress(TrainingCallback):
    """One JSON object a line, flushed at once (what the desktop app's fine-tuning panel reads)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def on_event(self, event: Event) -> None:
        stream = self.stream or sys.stdout
        stream.write(event.to_json() + "\n")
        stream.flush()


BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"
"""tqdm's own layout minus its ``<remaining``: that counts every step, while a time budget may end the
run long before; the trainer's ETA (``StepEvent.eta_s``, which knows the budget) is shown instead."""


class TqdmProgress(TrainingCallback):
    """A tqdm bar over all steps with the time left (the time budget included), each loss term, the
    learning rate and the last validation mAP."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.bar: Any = None
        self.teacher_bar: Any = None

    def on_event(self, event: Event) -> None:
        from tqdm import tqdm

        stream = self.stream or sys.stderr
        if isinstance(event, TeacherEvent):
            if self.teacher_bar is None:
                self.teacher_bar = tqdm(total=event.total, desc="teacher soft labels", unit="img", file=stream)
            self.teacher_bar.update(event.done - self.teacher_bar.n)
        elif isinstance(event, StartEvent):
            if self.teacher_bar is not None:
                self.teacher_bar.close()
            self.bar = tqdm(
                total=event.total_steps, initial=event.resumed_from_step, desc="training", unit="step", file=stream,
                bar_format=BAR_FORMAT,
            )
        elif isinstance(event, StepEvent) and self.bar is not None:
            losses = event.losses
            postfix = {
                "left": tqdm.format_interval(event.eta_s),
                "ep": event.epoch,
                "loss": f"{losses.total:.3f}",
                "Lq": f"{losses.quadruplet:.3f}",
                "Lc": f"{losses.semantic:.3f}",
                "Lk": f"{losses.knowledge:.3f}",
                "lr": f"{event.lr:.1e}",
            }
            if event.metric is not None:
                postfix["val_mAP"] = f"{event.metric:.3f}"
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(event.step - self.bar.n)
        elif isinstance(event, ValidationEvent):
            metrics = event.metrics
            message = f"epoch {event.epoch}: validation mAP@all {metrics['map_all']:.4f}, P@10 {metrics['p_10']:.4f}"
            tqdm.write(message + (" (best)" if event.best else ""), file=stream)
        elif isinstance(event, EndEvent):
            self.close()
            print(f"training {event.status}; model: {event.checkpoint}", file=stream)

    def close(self) -> None:
        for bar in (self.teacher_bar, self.bar):
            if bar is not None:
                bar.close()
        self.teacher_bar = self.bar = None
