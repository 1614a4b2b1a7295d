"""Resumable training state: ``OUTPUT/resume/`` holds the current weights (safetensors) and the
optimiser, scaler, position and random generator states (``state.pt``, tensors and plain Python
values only, read back with ``torch.load(weights_only=True)`` so no code can ever run from it).

The directory is written beside its final place and renamed over it, so an interrupt while saving
leaves the previous state intact.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from zssbir_core.atomic import replace_directory
from zssbir_core.errors import ZssbirError

RESUME_DIR = "resume"
WEIGHTS_FILE = "weights.safetensors"
STATE_FILE = "state.pt"


@dataclass
class Progress:
    """Where training stands: the next step to run and the best validation so far."""

    epoch: int = 0
    batch_in_epoch: int = 0
    step: int = 0
    best_metric: float | None = None
    best_epoch: int | None = None
    best_metrics: dict[str, float] = field(default_factory=dict)
    last_metric: float | None = None
    elapsed_s: float = 0.0


def rng_state() -> dict[str, Any]:
    """Torch, NumPy and Python generator states as weights-only-loadable values."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    version, keys, *rest = state["python"]
    random.setstate((version, tuple(keys), *rest))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_resume_state(
    output: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    progress: Progress,
) -> Path:
    """Write ``output/resume`` atomically."""
    target = output / RESUME_DIR
    tmp = Path(tempfile.mkdtemp(dir=output, prefix=f".{RESUME_DIR}-"))
    try:
        weights = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        save_file(weights, str(tmp / WEIGHTS_FILE))
        torch.save(
            {
                "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else None,
                "progress": asdict(progress),
                "rng": rng_state(),
            },
            tmp / STATE_FILE,
        )
        replace_directory(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def has_resume_state(output: Path) -> bool:
    return (output / RESUME_DIR / WEIGHTS_FILE).is_file() and (output / RESUME_DIR / STATE_FILE).is_file()


def load_resume_state(
    output: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
) -> Progress:
    """Restore weights, optimiser, scaler and generators from ``output/resume``; return the position."""
    folder = output / RESUME_DIR
    try:
        model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        state = torch.load(folder / STATE_FILE, map_location="cpu", weights_only=True)
        optimizer.load_state_dict(state["optimizer"])
        if scaler is not None and state["scaler"] is not None:
            scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        return Progress(**state["progress"])
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, SafetensorError) as error:
        raise ZssbirError(
            f"cannot resume from {folder}: the saved state is damaged or incompatible ({error})"
        ) from error


def remove_resume_state(output: Path) -> None:
    shutil.rmtree(output / RESUME_DIR, ignore_errors=True)
