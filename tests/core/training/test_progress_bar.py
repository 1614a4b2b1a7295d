"""The terminal progress bar of ``zssbir-cli train``: its time left is the trainer's, which knows the
time budget, not tqdm's count of every step at the current rate."""

from __future__ import annotations

import io
import time

from zssbir_core.training.callbacks import TqdmProgress
from zssbir_core.training.events import Losses, StartEvent, StepEvent


def test_the_bar_shows_the_budgets_time_left_not_all_steps_at_this_rate() -> None:
    stream = io.StringIO()
    bar = TqdmProgress(stream)
    bar.on_event(StartEvent(total_steps=6000, epochs=10, steps_per_epoch=600, train_classes=80, val_classes=["cat"],
                            device="cpu", precision="fp32", world_size=1, resumed_from_step=0))
    losses = Losses(total=1.0, quadruplet=0.5, semantic=0.4, knowledge=0.1)
    for step in (1, 2):
        time.sleep(0.2)  # about 0.2 s a step: all 6,000 steps would take about 20 minutes
        bar.on_event(StepEvent(step=step, epoch=1, losses=losses, lr=1e-3, images_per_s=80.0, eta_s=61.0,
                               metric=None))
    bar.bar.refresh()
    shown = stream.getvalue().split("\r")[-1]
    assert "left=01:01" in shown, shown
    assert "<" not in shown, shown  # tqdm's own estimate ("elapsed<remaining") is not shown
    bar.close()
