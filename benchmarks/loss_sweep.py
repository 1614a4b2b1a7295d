"""Validation sweep of the loss settings: weights, margins, temperature, mining, learning rate.

Each run trains EfficientNet-Lite0 with the ``cpu-lite0`` recipe, by default on the schedule it
had before this sweep (``--schedule sweep``: 10 epochs x 50 steps of 16 classes x (2 photos + 2
sketches), 160 px, validation every 2 epochs; ``--schedule recipe``: the recipe's own), no time
budget, with one setting changed, and records the validation mAP@all on
the recipe's 10 validation classes (all their sketches as queries) after every validation. The
20 benchmark held-out classes (``heldout_classes.txt``) are excluded from every run: they are
never seen here, so choosing settings on this sweep cannot leak into the held-out figures of
``train_ablation.py``.

``--train-classes N`` trains on N of the 70 remaining classes (picked with ``random.Random(2026)``)
instead of all of them, to make the runs cheaper. Runs are made in the order of ``RUNS`` until
the time budget would be exceeded; results are appended to the results file as each run ends.

    python benchmarks/loss_sweep.py --device cuda --train-classes 50 --budget-min 6.5
    python benchmarks/loss_sweep.py --device cpu --workers 0 --schedule recipe --runs default,lc-0.3,lq-3 \
        --results docs/benchmarks/loss_sweep_cpu_results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from train_ablation import DEFAULT_DATA, heldout_classes  # noqa: E402  (this script's folder)

from zssbir_core.training.setup import split_validation_classes  # noqa: E402

# The cpu-lite0 schedule the sweep was first run on (the recipe itself was shortened after it),
# and the recipe's own schedule; both without a time budget and validating on every sketch.
SCHEDULES = {
    "sweep": {"epochs": 10, "batches_per_epoch": 50, "val_every": 2, "time_budget_min": None,
              "val_sketches_per_class": None},
    "recipe": {"time_budget_min": None, "val_sketches_per_class": None},
}
RUNS: list[tuple[str, dict]] = [
    ("default", {}), ("no-lk", {"lk": 0.0}), ("default-seed1", {"seed": 1}), ("lk-3", {"lk": 3.0}),
    ("T-4", {"temperature": 4.0}), ("T-1", {"temperature": 1.0}),
    ("margins-0.5-0.2", {"margin_cross": 0.5, "margin_same": 0.2}),
    ("margins-0.2-0.05", {"margin_cross": 0.2, "margin_same": 0.05}),
    ("lc-0.3", {"lc": 0.3}), ("lq-3", {"lq": 3.0}), ("no-lq", {"lq": 0.0}), ("no-lc", {"lc": 0.0}),
    ("semihard", {"mining": "semihard"}), ("backbone-lr-0.3", {"backbone_lr_scale": 0.3}),
    ("frozen-0", {"frozen_fraction": 0.0}), ("lk-10", {"lk": 10.0}),
]


def class_split(data: Path, train_classes: int | None) -> tuple[list[str], list[str]]:
    """The validation classes (as the recipe picks them) and the classes to exclude."""
    heldout = heldout_classes()
    rest = sorted(set(p.name for p in (data / "photo").iterdir() if p.is_dir()) - set(heldout))
    val = split_validation_classes(rest, 10, 0)
    train = sorted(set(rest) - set(val))
    kept = set(random.Random(2026).sample(train, train_classes)) if train_classes else set(train)
    return val, sorted(set(heldout) | (set(train) - kept))


def run_one(name: str, changes: dict, args: argparse.Namespace, val: list[str], exclude: list[str]) -> dict:
    """Train one setting in a child process; return its validation curve and times."""
    config = args.work / f"{name}.json"
    config.write_text(json.dumps({**SCHEDULES[args.schedule], "num_workers": args.workers, "val_classes": val,
                                  "exclude_classes": exclude, **changes}))
    command = [sys.executable, "-m", "zssbir_core", "train", "--data", str(args.data), "--output",
               str(args.work / name), "--recipe", "cpu-lite0", "--config", str(config), "--device", args.device,
               "--progress", "json"]
    env = dict(os.environ, ZSSBIR_DATA_DIR=str(args.work / "zssbir-data"))
    start = time.perf_counter()
    log_path = args.work / f"{name}.log"
    with open(log_path, "w") as log:
        returncode = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO).returncode
    events = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    validations = [{"step": e["step"], **{k: round(v, 4) for k, v in e["metrics"].items()}}
                   for e in events if e.get("event") == "validation"]
    end = next((e for e in events if e.get("event") == "end"), {})
    return {"changes": changes, "returncode": returncode, "wall_s": round(time.perf_counter() - start, 1),
            "train_s": end.get("train_s"), "steps": end.get("steps"), "validations": validations,
            "best_map_all": max((v["map_all"] for v in validations), default=None)}


def write_table(results: dict, path: Path) -> None:
    """A Markdown table: validation mAP@all after each validation, best, and the change made."""
    rows = results["runs"]
    steps = sorted({v["step"] for r in rows.values() for v in r["validations"]})
    lines = ["| run | change | " + " | ".join(f"step {s}" for s in steps) + " | best | train s |",
             "|---|---|" + "---|" * len(steps) + "---|---|"]
    for name, r in rows.items():
        curve = {v["step"]: v["map_all"] for v in r["validations"]}
        change = ", ".join(f"{k}={v}" for k, v in r["changes"].items()) or "recipe values"
        lines.append(f"| {name} | {change} | " + " | ".join(f"{curve[s]:.4f}" if s in curve else "-" for s in steps)
                     + f" | {r['best_map_all']:.4f} | {r['train_s']} |")
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--work", type=Path, default=Path("/tmp/zssbir-loss-sweep"))
    parser.add_argument("--results", type=Path, default=REPO / "docs" / "benchmarks" / "loss_sweep_results.json")
    parser.add_argument("--train-classes", type=int, help="train on this many of the 70 training classes")
    parser.add_argument("--workers", type=int, default=min(12, os.cpu_count() or 1), help="data loader workers")
    parser.add_argument("--budget-min", type=float, default=60.0, help="start no run that would end after this")
    parser.add_argument("--runs", help="comma-separated run names (default: all, in order)")
    parser.add_argument("--schedule", choices=sorted(SCHEDULES), default="sweep",
                        help="sweep: 10 x 50 steps, validation every 2 epochs; recipe: cpu-lite0's own")
    args = parser.parse_args()
    if not (args.data / "photo").is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    val, exclude = class_split(args.data, args.train_classes)
    wanted = args.runs.split(",") if args.runs else [name for name, _ in RUNS]
    results = json.loads(args.results.read_text()) if args.results.is_file() else {}
    results.update(machine=f"{platform.machine()}, {os.cpu_count()} logical cores", device=args.device,
                   schedule=SCHEDULES[args.schedule], val_classes=val, train_classes=args.train_classes or 70)
    results.setdefault("runs", {})
    start, longest = time.perf_counter(), 0.0
    for name, changes in RUNS:
        if name not in wanted or name in results["runs"]:
            continue
        if time.perf_counter() - start + 1.1 * longest > args.budget_min * 60:
            print(f"budget: stopping before {name}")
            break
        row = run_one(name, changes, args, val, exclude)
        longest = max(longest, row["wall_s"])
        results["runs"][name] = row
        args.results.write_text(json.dumps(results, indent=2) + "\n")
        write_table(results, args.results.with_suffix(".md"))
        print(name, row["returncode"], row["wall_s"], [v["map_all"] for v in row["validations"]], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
