"""Run ``zssbir-cli train`` in a child process and wait for it: what the training benchmarks and
``scripts/train_default_model.py`` share.

The settings go to ``OUTPUT.json`` (``--config``), the child's JSON events and messages are
appended to ``OUTPUT.log``, and an ``OUTPUT`` that exists is continued (``--resume``). The
command is the app's own (``zssbir_core.api.training_command``).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from zssbir_core.api import training_command


@dataclass(frozen=True)
class ChildRun:
    """A finished child run: the command line it ran (program first) and its wall time."""

    command: list[str]
    wall_s: float


def train_in_child(data: Path, output: Path, *, recipe: str, settings: dict, device: str = "cpu",
                   env: dict[str, str] | None = None, echo: bool = False) -> ChildRun:
    """Train ``recipe`` with ``settings`` on ``data`` into ``output``; ``echo`` prints the command
    first. Raises ``subprocess.CalledProcessError`` when the child fails (its log says why)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    config = output.with_suffix(".json")
    config.write_text(json.dumps(settings))
    args = ["--data", str(data), "--output", str(output), "--recipe", recipe, "--config", str(config),
            "--device", device, *(["--resume"] if output.exists() else [])]
    program, arguments = training_command(args)
    command = [program, *arguments]
    if echo:
        print(" ".join(arguments), flush=True)
    start = time.perf_counter()
    with open(output.with_suffix(".log"), "a") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True, env=env)
    return ChildRun(command, time.perf_counter() - start)
