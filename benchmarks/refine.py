"""Draw to refine: P@10 after one round of simulated relevance feedback, against query expansion alone.

For every sketch of a class set, against that set's photos (../shared/data/sketchy-seen100, the
default packaged model): the first 10 results of the app's search (query expansion on) are judged
as a user would, a photo of the sketch's class "more like this", any other "not this"; the query
moves by Rocchio (``zssbir_core.refine``) and is searched again (with query expansion, as the app
does). Figures: P@10 and mAP@all of the new ranking ("full"), and P@10 of the photos not judged yet
("residual": what the round brings that the user had not seen).

The Rocchio weights are chosen on ``--tune`` classes (default: 20 classes spread over the 80 that
are not held out, disjoint from benchmarks/heldout_classes.txt), then measured once on the held-out
classes. Accuracy only: the figures do not depend on the machine's load.

    .venv/bin/python benchmarks/refine.py --output docs/benchmarks/refine_results.json
    .venv/bin/python benchmarks/refine.py --sketches-per-class 3 --classes 3   # a quick check
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_ablation import REPO, heldout_classes

from zssbir_core.data.folder import scan_folder_dataset
from zssbir_core.evaluation.evaluate import embed_samples
from zssbir_core.evaluation.metrics import retrieval_metrics
from zssbir_core.models import load_model
from zssbir_core.query_expansion import DEFAULT_EXPANSION, expand_queries
from zssbir_core.refine import DEFAULT_ROCCHIO, Rocchio

SEEN100 = REPO.parent / "shared" / "data" / "sketchy-seen100"
JUDGED = 10
GRID_B = (0.25, 0.5, 1.0, 2.0, 4.0)
GRID_C = (0.0, 0.25, 0.5, 1.0)


def tune_classes(count: int) -> list[str]:
    """``count`` classes spread evenly over the sorted classes that are not held out."""
    held = set(heldout_classes())
    rest = sorted(p.name for p in (SEEN100 / "photo").iterdir() if p.is_dir() and p.name not in held)
    return rest[:: max(1, len(rest) // count)][:count]


def embed(model: str, classes: list[str], per_class: int | None) -> dict[str, np.ndarray]:
    """Vectors and labels of the classes' sketches (``per_class`` of each, the first by name) and photos."""
    data = scan_folder_dataset(SEEN100, check_images=False).subset(classes)
    embedder = load_model(model, device="cpu")
    sketches = data.sketches()
    if per_class is not None:
        by_label: dict[int, list] = {}
        for sample in sorted(sketches, key=lambda s: s.path.name):
            by_label.setdefault(sample.label, []).append(sample)
        sketches = [s for label in sorted(by_label) for s in by_label[label][:per_class]]
    photos = data.photos()
    return {"queries": embed_samples(embedder, sketches, embedder.preprocessing, device="cpu"),
            "query_labels": np.array([s.label for s in sketches]),
            "gallery": embed_samples(embedder, photos, embedder.preprocessing, device="cpu"),
            "gallery_labels": np.array([s.label for s in photos])}


def one_round(vectors: dict[str, np.ndarray], weights: Rocchio) -> dict[str, float]:
    """Query expansion alone, and one round of feedback on its first 10 results."""
    queries, gallery = vectors["queries"], vectors["gallery"]
    labels, gallery_labels = vectors["query_labels"], vectors["gallery_labels"]
    expanded = expand_queries(queries, gallery, DEFAULT_EXPANSION)
    first = np.argsort(-(expanded @ gallery.T), axis=1, kind="stable")[:, :JUDGED]
    relevant = gallery_labels[first] == labels[:, None]
    moved = np.stack([weights.apply(q, gallery[top[good]], gallery[top[~good]])
                      for q, top, good in zip(queries, first, relevant)])
    refined = expand_queries(moved, gallery, DEFAULT_EXPANSION)
    before = retrieval_metrics(expanded, labels, gallery, gallery_labels)
    after = retrieval_metrics(refined, labels, gallery, gallery_labels)
    scores = refined @ gallery.T
    np.put_along_axis(scores, first, -np.inf, axis=1)  # the judged photos are left out
    unseen = np.argsort(-scores, axis=1, kind="stable")[:, :JUDGED]
    residual = gallery_labels[unseen] == labels[:, None]
    return {"p_10_qe": round(before["p_10"], 4), "map_all_qe": round(before["map_all"], 4),
            "p_10_refined": round(after["p_10"], 4), "map_all_refined": round(after["map_all"], 4),
            "p_10_residual_refined": round(float(residual.mean()), 4),
            "judged_relevant": round(float(relevant.mean()), 4), "queries": len(queries)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--classes", type=int, default=20, help="tuning classes (default 20)")
    parser.add_argument("--sketches-per-class", type=int, help="default: all 60")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    held = heldout_classes()[: args.classes]
    tune = tune_classes(args.classes)
    assert not set(held) & set(tune)
    tuning = embed(args.model, tune, args.sketches_per_class)
    grid = {f"a=1 b={b} c={c}": one_round(tuning, Rocchio(1.0, b, c)) for b, c in itertools.product(GRID_B, GRID_C)}
    best = max(grid, key=lambda name: (grid[name]["p_10_refined"], grid[name]["map_all_refined"]))
    for name, figures in grid.items():
        print(f"tune {name}: {figures}", flush=True)
    print(f"best on the tuning classes: {best}; shipped: {DEFAULT_ROCCHIO}", flush=True)
    held_vectors = embed(args.model, held, args.sketches_per_class)
    held_out = one_round(held_vectors, DEFAULT_ROCCHIO)
    print(f"held-out, shipped weights: {held_out}", flush=True)
    b, c = (float(part.split("=")[1]) for part in best.split()[1:])
    held_out_best = one_round(held_vectors, Rocchio(1.0, b, c))
    print(f"held-out, best weights on the tuning classes: {held_out_best}", flush=True)
    result = {"model": args.model, "tune_classes": tune, "heldout_classes": held, "tuning_grid": grid,
              "best_on_tuning": best, "shipped": vars(DEFAULT_ROCCHIO), "heldout": held_out, "heldout_best_on_tuning": held_out_best,
              "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}",
              "command": "python benchmarks/refine.py " + " ".join(sys.argv[1:])}
    if args.output:
        args.output.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
