"""The run's schedule: warm-up then cosine learning rate, the time budget, the validation epochs
and the time left."""

from __future__ import annotations

import pytest
import torch

from zssbir_core.training.config import TrainConfig
from zssbir_core.training.distributed import DistContext
from zssbir_core.training.schedule import Schedule, lr_factor

CPU = torch.device("cpu")


def test_lr_warms_up_linearly_then_decays_to_one_percent() -> None:
    assert [lr_factor(step, 4, 0.0) for step in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_factor(4, 4, 0.0) == pytest.approx(1.0)
    assert lr_factor(10, 4, 0.5) == pytest.approx(0.505)
    assert lr_factor(10, 4, 1.0) == pytest.approx(0.01)
    assert lr_factor(10, 4, 1.7) == pytest.approx(0.01) and lr_factor(10, 4, -1.0) == pytest.approx(1.0)


def test_validation_epochs_and_those_left() -> None:
    schedule = Schedule(TrainConfig(epochs=5, val_every=2), 50, DistContext(), CPU)
    assert [schedule.validates_after(epoch, epoch == 4) for epoch in range(5)] == [False, True, False, True, True]
    assert [schedule.validations_left(epoch) for epoch in range(5)] == [3, 3, 2, 2, 1]
    assert schedule.validates_after(0, last_epoch=True), "a run cut short by its time budget validates at the end"


def test_fraction_done_by_steps_or_by_the_time_budget() -> None:
    by_steps = Schedule(TrainConfig(epochs=2), 40, DistContext(), CPU)
    assert by_steps.fraction_done(10) == 0.25 and by_steps.budget_s is None
    resumed = Schedule(TrainConfig(epochs=2, time_budget_min=1.0), 40, DistContext(), CPU, elapsed_s=45.0)
    assert resumed.elapsed_s() >= 45.0, "a resumed run's earlier training time counts"
    assert 0.75 <= resumed.fraction_done(10) < 1.0


def test_time_left_counts_steps_and_validations() -> None:
    schedule = Schedule(TrainConfig(epochs=3, val_every=1), 30, DistContext(), CPU)
    for seconds in (1.0, 3.0):
        schedule.record_step(seconds)
    schedule.record_validation(5.0)
    assert schedule.last_step_s() == 3.0
    # 28 steps left at the mean 2 s, and validations after epochs 2 and 3.
    assert schedule.eta_s(2, 1) == pytest.approx(28 * 2.0 + 2 * 5.0)
    budget = Schedule(TrainConfig(epochs=3, time_budget_min=1.0), 30, DistContext(), CPU)
    budget.record_step(10.0)
    assert budget.eta_s(1, 2) <= 60.0 + 1e-6 and budget.eta_s(1, 2) > 50.0, "at most the budget's time left"
