"""How long a recipe will take on this machine, from a short measured warm-up run.

The warm-up is a real ``zssbir-cli train`` run on the same data with the same recipe, device and
starting model, cut to ``WARMUP_STEPS`` steps (``warmup_settings()``, passed with ``--config``).
Its wall time between consecutive ``step`` events (data loading, pseudo-sketch drawing and the
optimiser step all included) times the recipe's number of steps, plus the measured start-up (loading
torch and the model, scanning the data; the teacher's soft labels are cached by the warm-up and
reused by the real run), gives the estimate; a recipe's ``time_budget_min`` caps the training
part, as the trainer stops there. The first step is left out: it pays one-off costs.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

WARMUP_STEPS = 4
FINE_TUNING_RECIPES = ("quick", "standard", "thorough")
"""The shipped recipes (``training/recipes``) a fine-tune in the app offers, shortest first."""


def warmup_settings() -> dict[str, object]:
    """Settings that turn a recipe into its warm-up (a JSON object for ``--config``)."""
    return {"epochs": 1, "batches_per_epoch": WARMUP_STEPS, "val_classes": 0, "warmup_steps": 1}


def recipe_steps(recipe: str) -> int:
    """Optimiser steps of a shipped recipe (epochs x batches per epoch)."""
    from zssbir_core.training.config import load_recipe

    config = load_recipe(recipe)
    if config.batches_per_epoch is None:
        raise ValueError(f"recipe {recipe!r} has no fixed number of batches per epoch")
    return config.epochs * config.batches_per_epoch


@dataclass(frozen=True)
class TimeEstimate:
    """The estimate for one recipe, and what it was derived from."""

    recipe: str
    seconds: float
    step_seconds: float
    steps: int
    startup_seconds: float

    def describe(self) -> str:
        return (f"about {format_duration(self.seconds)} ({self.steps} steps of "
                f"{self.step_seconds:.1f} s, measured)")


def estimate_time(recipe: str, step_times: Sequence[float], startup_seconds: float) -> TimeEstimate:
    """The estimate for ``recipe`` from the warm-up's step arrival times (seconds, increasing)."""
    intervals = [b - a for a, b in zip(step_times, step_times[1:])]
    if not intervals:
        raise ValueError("the warm-up needs at least two steps to measure a step time")
    step_seconds = statistics.median(intervals)
    steps = recipe_steps(recipe)
    training = steps * step_seconds
    budget = recipe_time_budget_s(recipe)
    if budget is not None and training > budget:  # the trainer stops when the budget is spent
        training, steps = budget, max(1, int(budget / step_seconds))
    return TimeEstimate(recipe, startup_seconds + training, step_seconds, steps, startup_seconds)


def recipe_time_budget_s(recipe: str) -> float | None:
    """The recipe's training-time budget in seconds (``time_budget_min``), or None."""
    from zssbir_core.training.config import load_recipe

    budget = getattr(load_recipe(recipe), "time_budget_min", None)
    return None if budget is None else float(budget) * 60.0


def format_duration(seconds: float) -> str:
    """``"45 s"``, ``"7 min"``, ``"1 h 20 min"``."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
