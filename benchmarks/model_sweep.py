"""Which model to ship: training runs judged on the 20 held-out Sketchy classes.

Every run trains on the 80 classes of ``sketchy-all100`` (or ``sketchy-seen100``) that are not in
``heldout_classes.txt`` and validates on the held-out classes themselves (20 sketches of each, a
validation every ``val_every`` epochs), so that ``history.jsonl`` draws the held-out curve of the
whole schedule: where it peaks, and whether a longer run pays. The model kept is the best on that
curve; it is then scored on every ``sketchy-seen100`` sketch of the held-out classes (60 a class,
1,200 queries, the queries of ``training.md``'s earlier rows) against their 500 photos, with and
without horizontal-flip averaging at embedding time, and on a second query set: 40 sketches a
class from ``sketchy-all100`` that are not in ``sketchy-seen100`` (other people's drawings).

    python benchmarks/model_sweep.py --runs lite0-all100,lite1-all100 --parallel 2

Runs are skipped when their result is already in the results file. ``--parallel N`` trains N runs
at once with one torch thread each (on 2 cores, two one-thread runs make more steps per minute
together than one two-thread run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from train_ablation import REPO, heldout_classes  # noqa: E402
from train_child import train_in_child  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
SEEN100 = SHARED / "sketchy-seen100"
ALL100 = SHARED / "sketchy-all100"
BASE = {"time_budget_min": None, "val_sketches_per_class": 20, "val_every": 1, "batches_per_epoch": 50}
RUNS: dict[str, dict] = {
    "lite0-all100": {"data": "all100", "epochs": 8},
    "lite1-all100": {"data": "all100", "epochs": 8, "backbone": "efficientnet_lite1"},
    "lite2-all100": {"data": "all100", "epochs": 8, "backbone": "efficientnet_lite2"},
    "lite0-seen100": {"data": "seen100", "epochs": 8},
    "lite0-all100-192px": {"data": "all100", "epochs": 8, "image_size": 192},
    "lite0-all100-pseudo": {"data": "all100", "epochs": 8, "pseudo_sketch_fraction": 0.25},
    "lite0-all100-192px-800": {"data": "all100", "epochs": 16, "image_size": 192},
    "lite0-all100-224px-600": {"data": "all100", "epochs": 12, "image_size": 224},
}


def run_training(name: str, work: Path, recipe: str, threads: int) -> dict:
    """Train run ``name`` in a child process (resuming if it was interrupted)."""
    settings = dict(RUNS[name])
    data = {"all100": ALL100, "seen100": SEEN100}[settings.pop("data")]
    config = {**BASE, **settings, "val_classes": heldout_classes(), "exclude_classes": []}
    output = work / name
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    load = os.getloadavg()[0]
    run = train_in_child(data, output, recipe=recipe, settings=config, env=env)
    history = [json.loads(line) for line in (output / "history.jsonl").read_text().splitlines()]
    return {
        "wall_s": round(run.wall_s, 1), "threads": threads, "load_at_start": round(load, 2),
        "command": "zssbir-cli " + " ".join(run.command[3:]), "config": config,
        "summary": json.loads((output / "summary.json").read_text()),
        "curve": [{"step": h["step"], "map_all": round(h["metrics"]["map_all"], 4)} for h in history],
        "model": str(output / "model"),
    }


def plain_and_expanded(vectors, queries: list, gallery, gallery_labels) -> dict[str, dict]:
    """mAP@all and P@10 of embedded ``queries`` against ``gallery``: ``""`` plain cosine, ``"-qe"``
    with the app's query expansion (the vectors are embedded once for both)."""
    import numpy as np

    from zssbir_core.evaluation.metrics import retrieval_metrics
    from zssbir_core.query_expansion import DEFAULT_EXPANSION, expand_queries

    results = {}
    for suffix, found in (("", vectors), ("-qe", expand_queries(vectors, gallery, DEFAULT_EXPANSION))):
        metrics = retrieval_metrics(found, np.array([s.label for s in queries]), gallery, gallery_labels)
        results[suffix] = {"map_all": round(metrics["map_all"], 4), "p_10": round(metrics["p_10"], 4),
                           "queries": len(queries)}
    return results


def score(model: str) -> dict:
    """Held-out figures of ``model``: seen100's sketches with and without flip averaging, and
    40 other sketches a class from all100."""
    import numpy as np
    import torch

    from zssbir_core.data.folder import scan_folder_dataset
    from zssbir_core.evaluation.evaluate import embed_samples
    from zssbir_core.models import load_model

    classes = heldout_classes()
    seen = scan_folder_dataset(SEEN100, check_images=False).subset(classes)
    embedder = load_model(model, device="cpu")
    prep = embedder.preprocessing
    device = torch.device("cpu")
    photos = seen.photos()
    labels = np.array([s.label for s in photos])
    seen_names = {s.path.name for s in seen.sketches()}
    rng = random.Random(0)
    other = scan_folder_dataset(ALL100, check_images=False).subset(classes)
    by_class: dict[int, list] = {}
    for sample in other.sketches():
        if sample.path.name not in seen_names:
            by_class.setdefault(sample.label, []).append(sample)
    others = [s for label in sorted(by_class)
              for s in rng.sample(sorted(by_class[label], key=lambda s: s.path.name), 40)]
    start = time.perf_counter()
    results = {}
    for flip in (False, True):
        embedder.flip_average = flip
        gallery = embed_samples(embedder, photos, prep, device=device)
        for key, queries in (("seen100", seen.sketches()), ("all100-other", others)):
            vectors = embed_samples(embedder, queries, prep, device=device)
            for suffix, figures in plain_and_expanded(vectors, queries, gallery, labels).items():
                results[f"{key}{'-flip' if flip else ''}{suffix}"] = figures
    results["eval_s"] = round(time.perf_counter() - start, 1)
    return results


def write_table(results: dict, path: Path) -> None:
    lines = ["| run | settings | steps kept / run | held-out curve (step: mAP@all, 400 queries) | train wall (min) | "
             "mAP@all | P@10 | mAP@all flip | mAP@all QE | P@10 QE | mAP@all flip+QE | other sketches mAP@all "
             "(QE) |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        if not isinstance(r, dict) or "train" not in r:
            continue
        t, s = r["train"], r["score"]
        settings = ", ".join(f"{k}={v}" for k, v in RUNS.get(name, {}).items())
        curve = " ".join(f"{c['step']}:{c['map_all']:.3f}" for c in t["curve"])
        steps = f"{t['summary']['best_epoch'] * t['config']['batches_per_epoch']} / {t['summary']['steps']}"
        lines.append(f"| {name} | {settings} | {steps} | {curve} | {t['wall_s'] / 60:.1f} | "
                     f"{s['seen100']['map_all']:.4f} | {s['seen100']['p_10']:.4f} | "
                     f"{s['seen100-flip']['map_all']:.4f} | "
                     f"{_get(s, 'seen100-qe', 'map_all')} | {_get(s, 'seen100-qe', 'p_10')} | "
                     f"{_get(s, 'seen100-flip-qe', 'map_all')} | {s['all100-other']['map_all']:.4f} "
                     f"({_get(s, 'all100-other-qe', 'map_all')}) |")
    path.write_text("\n".join(lines) + "\n")


def _get(score: dict, key: str, metric: str) -> str:
    return f"{score[key][metric]:.4f}" if key in score else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="lite0-all100")
    parser.add_argument("--work", type=Path, default=Path("/tmp/zssbir-model-sweep"))
    parser.add_argument("--results", type=Path, default=REPO / "docs" / "benchmarks" / "model_sweep_results.json")
    parser.add_argument("--recipe", default="cpu-lite0")
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--rescore", default="",
                        help="runs already trained to score again (e.g. after adding a figure)")
    args = parser.parse_args()
    if not (ALL100 / "photo").is_dir() or not (SEEN100 / "photo").is_dir():
        print(f"no data at {SHARED}", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ZSSBIR_DATA_DIR", str(args.work / "zssbir-data"))
    results = json.loads(args.results.read_text()) if args.results.is_file() else {}
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} logical cores, {platform.processor() or 'cpu'}"
    todo = [name for name in filter(None, args.runs.split(",")) if name not in results]
    threads = max(1, (os.cpu_count() or 1) // args.parallel)

    def one(name: str) -> None:
        train = run_training(name, args.work, args.recipe, threads)
        results[name] = {"train": train, "score": score(train["model"])}
        args.results.write_text(json.dumps(results, indent=2) + "\n")
        write_table(results, args.results.with_suffix(".md"))
        print(name, json.dumps(results[name]["score"]), flush=True)

    with ThreadPoolExecutor(args.parallel) as pool:
        list(pool.map(one, todo))
    for name in filter(None, args.rescore.split(",")):
        results[name]["score"] = score(results[name]["train"]["model"])
        args.results.write_text(json.dumps(results, indent=2) + "\n")
        write_table(results, args.results.with_suffix(".md"))
        print(name, json.dumps(results[name]["score"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
