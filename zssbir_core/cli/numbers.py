"""argparse types for the numbers the commands take: integers within stated bounds, clear messages."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from zssbir_core.training.config_schema import MAX_BATCH, MAX_IMAGE_SIZE, MAX_WORKERS, MIN_IMAGE_SIZE

MIN_IMAGE_SIDE, MAX_IMAGE_SIDE = MIN_IMAGE_SIZE, MAX_IMAGE_SIZE  # one schema: the training settings' limits
MAX_RESULTS = 100_000


def int_between(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type accepting whole numbers from ``low`` to ``high`` (no upper bound if None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"at least {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {value}")
        return value

    parse.__name__ = "number"
    return parse


batch_size = int_between(1, MAX_BATCH)
workers = int_between(1, MAX_WORKERS)
image_size = int_between(MIN_IMAGE_SIDE, MAX_IMAGE_SIDE)
result_count = int_between(1, MAX_RESULTS)
