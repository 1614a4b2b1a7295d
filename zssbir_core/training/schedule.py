"""When things happen in a run: the learning-rate factor, the time budget, how far the run is,
which epochs end with a validation, and the time left."""

from __future__ import annotations

import math
import time
from collections import deque

import torch

from zssbir_core.training.config import TrainConfig
from zssbir_core.training.distributed import DistContext


def lr_factor(step: int, warmup: int, done: float) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 1% of the base rate as the
    fraction ``done`` of the run (by steps, or by time under a time budget) goes from 0 to 1."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, done))))


class Schedule:
    """The clock and the plan of one run of ``total_steps`` steps over ``config.epochs`` epochs.

    ``elapsed_s`` is the training time of earlier sessions of the run (resumed runs), so the time
    budget counts the whole run. Step and validation durations feed the time-left estimate.
    """

    def __init__(self, config: TrainConfig, total_steps: int, context: DistContext, device: torch.device,
                 elapsed_s: float = 0.0) -> None:
        self.config = config
        self.total_steps = total_steps
        self.context = context
        self.device = device
        self.budget_s = config.time_budget_min * 60.0 if config.time_budget_min else None
        self.started = time.perf_counter() - elapsed_s
        self.step_times: deque[float] = deque(maxlen=20)
        self.validation_s = 0.0

    def elapsed_s(self) -> float:
        """Training time of the whole run so far."""
        return time.perf_counter() - self.started

    def fraction_done(self, step: int) -> float:
        """How far the run is, by steps, or by time when a time budget is set (whichever is further).

        Under ``torchrun`` every process takes rank 0's clock, so all stop at the same step.
        """
        done = step / self.total_steps
        if self.budget_s is not None:
            clock = torch.tensor([self.elapsed_s()], dtype=torch.float64, device=self.device)
            if self.context.enabled:
                torch.distributed.broadcast(clock, src=0)
            done = max(done, float(clock) / self.budget_s)
        return done

    def lr_factor(self, step: int, done: float) -> float:
        """The factor of the base learning rate for ``step`` (see ``lr_factor``)."""
        return lr_factor(step, self.config.warmup_steps, done)

    def validates_after(self, epoch: int, last_epoch: bool) -> bool:
        """True when the epoch numbered ``epoch`` (from 0) ends with a validation."""
        return (epoch + 1) % self.config.val_every == 0 or last_epoch

    def validations_left(self, epoch: int) -> int:
        """Validations still to come in the run, counting the one after ``epoch`` (from 0)."""
        return sum(1 for e in range(epoch, self.config.epochs) if self.validates_after(e, e + 1 == self.config.epochs))

    def record_step(self, seconds: float) -> None:
        self.step_times.append(seconds)

    def record_validation(self, seconds: float) -> None:
        self.validation_s = seconds

    def last_step_s(self) -> float:
        return self.step_times[-1]

    def eta_s(self, step: int, epoch: int) -> float:
        """Seconds left after ``step`` in ``epoch``: the steps left (fewer when the time budget
        ends the run first) at the recent mean step time, plus the validations still to come."""
        mean_step = sum(self.step_times) / len(self.step_times)
        remaining = self.total_steps - step
        if self.budget_s is not None:
            remaining = min(remaining, max(0.0, self.budget_s - self.elapsed_s()) / mean_step)
        return remaining * mean_step + self.validation_s * self.validations_left(epoch)
