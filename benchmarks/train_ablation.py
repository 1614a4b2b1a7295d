"""Training benchmark: zero-shot sketch-to-photo retrieval on 20 held-out Sketchy classes.

Rows, in order of importance (each is skipped when its result is already in the results file, so
an interrupted benchmark continues where it stopped):

1. ``lite0-imagenet``: raw ImageNet features, no training;
2. the ``cpu-lite0`` recipe (trained with the held-out classes excluded; model selection on 10
   validation classes taken from the remaining 80 with the recipe's seed);
3. the same recipe on a short schedule (``SHORT``: smaller batches, ``--short-steps`` steps,
   the same for all four rows), with all three losses and with each loss removed (``lq``,
   ``lc`` or ``lk`` = 0).

Every row records mAP@all and P@10 over the photos (gallery) and sketches (queries: all of them,
or ``--short-eval-sketches`` per class for the short rows) of the held-out classes, the
validation mAP@all that chose the checkpoint, steps, wall times and the load average.

    python benchmarks/train_ablation.py --rows baseline,full
    python benchmarks/train_ablation.py --rows short,no-lq,no-lc,no-lk --short-steps 150
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from train_child import train_in_child  # this script's folder

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "sketchy-seen100"
HELDOUT = Path(__file__).resolve().parent / "heldout_classes.txt"
ROWS = ("baseline", "full-500", "full", "short", "no-lq", "no-lc", "no-lk")
ABLATION = {"short": {}, "no-lq": {"lq": 0.0}, "no-lc": {"lc": 0.0}, "no-lk": {"lk": 0.0}}
# The short rows: smaller batches (8 classes x 1 photo + 1 sketch), so that a few minutes of a
# shared 2-core CPU still make some tens of steps; validation on 5 sketches per class.
SHORT = {"epochs": 1, "time_budget_min": None, "classes_per_batch": 8, "samples_per_domain": 1,
         "warmup_steps": 5, "val_sketches_per_class": 5}


def heldout_classes() -> list[str]:
    return [line.strip() for line in HELDOUT.read_text().splitlines() if line.strip()]


def evaluate(model: str, data: Path, sketches_per_class: int | None = None) -> dict[str, float]:
    """mAP@all and P@k of ``model`` on the held-out classes (all photos; all sketches, or
    ``sketches_per_class`` of each class picked with seed 0), with the eval wall time."""
    import dataclasses
    import random

    import torch

    from zssbir_core.data.folder import scan_folder_dataset
    from zssbir_core.evaluation.evaluate import evaluate_retrieval
    from zssbir_core.models import load_model

    dataset = scan_folder_dataset(data, check_images=False).subset(heldout_classes())
    if sketches_per_class is not None:
        rng = random.Random(0)
        by_class: dict[int, list] = {}
        for sample in dataset.sketches():
            by_class.setdefault(sample.label, []).append(sample)
        kept = [s for label in sorted(by_class) for s in sorted(
            rng.sample(by_class[label], min(sketches_per_class, len(by_class[label]))), key=lambda s: str(s.path))]
        dataset = dataclasses.replace(dataset, samples=dataset.photos() + kept)
    embedder = load_model(model, device="cpu")
    start = time.perf_counter()
    metrics = evaluate_retrieval(embedder, dataset, preprocessing=embedder.preprocessing, device=torch.device("cpu"))
    return {**metrics, "eval_s": round(time.perf_counter() - start, 1), "image_size": embedder.preprocessing.image_size,
            "queries": len(dataset.sketches()), "gallery": len(dataset.photos())}


def train(row: str, data: Path, work: Path, recipe: str, changes: dict) -> dict:
    """Run ``zssbir-cli train`` for one row in a child process; return its summary and wall time."""
    output = work / row
    settings = {"exclude_classes": heldout_classes(), **changes}
    run = train_in_child(data, output, recipe=recipe, settings=settings)
    summary = json.loads((output / "summary.json").read_text())
    return {"wall_s": round(run.wall_s, 1), "summary": summary, "model": str(output / "model"),
            "command": " ".join(run.command[1:]), "config": settings}


def write_table(results: dict, path: Path) -> None:
    lines = [
        "| row | training | steps | train command wall (min) | val mAP@all (10 seen classes) | held-out queries | "
        "held-out mAP@all | held-out P@10 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        if row not in results:
            continue
        r = results[row]
        heldout = r["heldout"]
        if row == "baseline":
            lines.append(f"| lite0-imagenet | none (raw ImageNet features, 224 px) | 0 | 0 | - | "
                         f"{heldout['queries']} | {heldout['map_all']:.4f} | {heldout['p_10']:.4f} |")
            continue
        summary = r["train"]["summary"]
        val = summary["best_metrics"].get("map_all")
        label = {"full-500": "cpu-lite0 before the sweep (500 steps or 30 min)", "full": "cpu-lite0 recipe",
                 "short": "cpu-lite0, short schedule", "no-lq": "short, without Lq",
                 "no-lc": "short, without Lc", "no-lk": "short, without Lk"}[row]
        changes = ", ".join(f"{k}={v}" for k, v in r["train"]["config"].items() if k != "exclude_classes")
        lines.append(
            f"| {label} | {changes or 'recipe as shipped'} | {summary['steps']} | "
            f"{r['train']['wall_s'] / 60:.1f} | {val:.4f} | {heldout['queries']} | {heldout['map_all']:.4f} | "
            f"{heldout['p_10']:.4f} |"
        )
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--work", type=Path, default=Path("/tmp/zssbir-train-bench"))
    parser.add_argument("--results", type=Path, default=REPO / "docs" / "benchmarks" / "training_results.json")
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--recipe", default="cpu-lite0")
    parser.add_argument("--short-steps", type=int, help="steps of the short-schedule rows (fixed, the same for all)")
    parser.add_argument("--short-eval-sketches", type=int, default=10,
                        help="held-out sketches per class used as queries in the short-schedule rows")
    parser.add_argument("--short-minutes", type=float, default=3.5,
                        help="without --short-steps: as many steps as the full row ran in this many minutes")
    args = parser.parse_args()
    if not (args.data / "photo").is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ZSSBIR_DATA_DIR", str(args.work / "zssbir-data"))
    results = json.loads(args.results.read_text()) if args.results.is_file() else {}
    results.setdefault("machine", f"{platform.machine()}, {os.cpu_count()} logical cores, shared with other jobs")
    for row in args.rows.split(","):
        if row in results:
            continue
        if row in ABLATION and args.short_steps is None:
            full = results["full"]["train"]["summary"]
            image_ratio = (2 * SHORT["classes_per_batch"] * SHORT["samples_per_domain"]) / 64
            seconds_per_step = full["train_s"] / full["steps"] * image_ratio
            args.short_steps = max(10, round(args.short_minutes * 60 / seconds_per_step))
        started = time.strftime("%H:%M:%S", time.gmtime())
        load = os.getloadavg()[0]
        if row == "baseline":
            results[row] = {"heldout": evaluate("lite0-imagenet", args.data)}
        else:
            changes = {} if row == "full" else {**SHORT, "batches_per_epoch": args.short_steps, **ABLATION[row]}
            run = train(row, args.data, args.work, args.recipe, changes)
            per_class = None if row == "full" else args.short_eval_sketches
            results[row] = {"train": run, "heldout": evaluate(run["model"], args.data, per_class)}
        results[row].update(started_utc=started, load_at_start=round(load, 2),
                            load_at_end=round(os.getloadavg()[0], 2))
        args.results.write_text(json.dumps(results, indent=2) + "\n")
        write_table(results, args.results.with_suffix(".md"))
        print(row, json.dumps(results[row]["heldout"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
