"""Search-time calibration against the seen-class bias of a mixed library (issue 18, item 2).

In a library that also holds photos of the classes a model trained on, those photos crowd the
top of an unseen-class sketch's ranking: the generalised zero-shot (GZS-SBIR) case, the
``mixed-seen`` figures of ``everyday_sketches.py``. The generalised zero-shot literature lowers
the scores of what looks like the seen classes. Every method tried here needs nothing but a
"bank" that could ship beside a model: sketches of its training classes. That bank is 15
``sketchy-seen100`` sketches and up to 8 canvas-drawn doodles of each training class, seed 0.

- ``csls``: a photo's score drops by ``lam`` times its mean similarity to its 10 nearest bank
  sketches (hubness reduction, the CSLS of Lample et al., ICLR 2018);
- ``sketch-proto`` / ``photo-proto``: it drops by ``lam`` times its highest similarity to a
  training class's centroid. The centroids are of the bank's sketches or of the class's photos.
  This is calibrated stacking (Chao et al., ECCV 2016) made a retrieval score;
- ``photo-proto-exempt``: as ``photo-proto``, only above a similarity of 0.7 and leaving out the
  training class nearest to the query (its sketch centroid): photos that clearly show a seen
  class lose, unless the query seems to ask for that class;
- ``dis``: querybank normalisation with the dynamic inverted softmax (Bogolin et al., CVPR 2022).
  A query whose first photo is some bank sketch's first photo (a hub) is ranked by
  ``s - log(sum_bank exp(beta * s_bank)) / beta``; other queries keep plain cosine.

The queries are embedded as the app embeds them (``query_views.py``) and ranked by plain cosine,
with the 80-class variant of a model. The sets are ``everyday_sketches.py``'s held-out ones:

- ``tidy``: the 500 held-out photos;
- ``mixed``: those plus the 2,000 training-class photos;
- ``unseen10``: the first 10 held-out classes' Sketchy queries, with all 500 held-out photos;
- ``seen``: 8 other ``sketchy-seen100`` sketches of each training class, against ``mixed``. This
  is what a person loses drawing a subject the model knows. It is optimistic: the model trained
  on these sketches and photos.

    python benchmarks/seen_class_calibration.py runs/v3-80/model --output calibration.json

Results: ``docs/benchmarks/model_sweep.md``, "Seen-class calibration".
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from canvas_strokes import canvas_image  # sibling benchmarks (this script's folder)
from everyday_sketches import QUICKDRAW, UNSEEN_TARGETS, QuerySets
from model_sweep import SEEN100

from zssbir_core.data.doodles import read_doodles
from zssbir_core.data.folder import SKETCH, Sample, scan_folder_dataset
from zssbir_core.evaluation.evaluate import embed_samples
from zssbir_core.evaluation.metrics import retrieval_metrics
from zssbir_core.imageio import open_image
from zssbir_core.models import load_model
from zssbir_core.query_views import embed_queries

BANK_SKETCHES = 15
BANK_DOODLES = 8
SEEN_QUERIES = 8
NEIGHBOURS = 10
EXEMPT_ABOVE = 0.7
Penalty = Callable[[np.ndarray], np.ndarray]
"""(G, D) photo vectors in, (G,) amounts to take off their scores."""


def bank_and_seen_queries(sets: QuerySets, folder: Path) -> tuple[list[Sample], list[Sample]]:
    """The bank (training-class sketches and canvas doodles) and the seen-class queries, labelled
    as ``sets.other_photos`` labels the training classes' photos."""
    seen = scan_folder_dataset(SEEN100, check_images=False)
    rng = random.Random(0)
    bank: list[Sample] = []
    queries: list[Sample] = []
    for label, name in enumerate(sets.other_classes):
        sketches = sorted(seen.subset([name]).sketches(), key=lambda s: s.path.name)
        picked = rng.sample(sketches, BANK_SKETCHES)
        bank += [Sample(s.path, label, SKETCH) for s in picked]
        rest = [s for s in sketches if s not in picked][:SEEN_QUERIES]
        queries += [Sample(s.path, 1000 + label, SKETCH) for s in rest]
        for key, strokes in sorted(read_doodles(QUICKDRAW, name).items())[:BANK_DOODLES]:
            path = folder / f"bank-{name}-{key}.png"
            canvas_image(strokes, 1.0).save(path)
            bank.append(Sample(path, label, SKETCH))
    return bank, queries


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def centroids(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The L2-normalised mean vector of each label."""
    return unit_rows(np.stack([vectors[labels == label].mean(0) for label in np.unique(labels)]))


def nearest_mean(references: np.ndarray, k: int) -> Penalty:
    """A photo's mean similarity to its ``k`` nearest ``references``."""
    return lambda photos: np.sort(photos @ references.T, axis=1)[:, -k:].mean(1)


def mean_ap(queries: np.ndarray, labels: np.ndarray, photos: np.ndarray, photo_labels: np.ndarray,
            penalty: np.ndarray | None = None) -> float:
    """mAP@all of ranking by ``q . p - penalty[p]``: the penalty rides on an extra coordinate."""
    if penalty is not None:
        queries = np.hstack([queries, np.ones((len(queries), 1), np.float32)])
        photos = np.hstack([photos, -penalty[:, None].astype(np.float32)])
    return retrieval_metrics(queries, labels, photos, photo_labels)["map_all"]


def grouped_map(queries: np.ndarray, labels: np.ndarray, photos: np.ndarray, photo_labels: np.ndarray,
                groups: np.ndarray, penalties: dict[int, np.ndarray | None]) -> float:
    """mAP@all when the queries of group ``g`` (``groups == g``) rank by ``q . p - penalties[g][p]``."""
    total = 0.0
    for group, penalty in penalties.items():
        chosen = groups == group
        if chosen.any():
            total += chosen.sum() * mean_ap(queries[chosen], labels[chosen], photos, photo_labels, penalty)
    return total / len(queries)


def dynamic_inverted_softmax(queries: np.ndarray, labels: np.ndarray, photos: np.ndarray, photo_labels: np.ndarray,
                             bank: np.ndarray, beta: float) -> float:
    """mAP@all with querybank normalisation (dynamic inverted softmax) against ``bank``."""
    bank_scores = bank @ photos.T
    hubs = np.zeros(len(photos), bool)
    hubs[np.unique(bank_scores.argmax(1))] = True
    top = bank_scores.max(0)
    log_sum = top + np.log(np.exp(beta * (bank_scores - top)).sum(0)) / beta
    normalised = hubs[(queries @ photos.T).argmax(1)].astype(int)
    return grouped_map(queries, labels, photos, photo_labels, normalised, {1: log_sum, 0: None})


def exempt_photo_prototypes(queries: np.ndarray, labels: np.ndarray, photos: np.ndarray, photo_labels: np.ndarray,
                            sketch_centroids: np.ndarray, photo_centroids: np.ndarray, lam: float) -> float:
    """mAP@all of ``photo-proto-exempt`` with weight ``lam``."""
    nearest = (queries @ sketch_centroids.T).argmax(1)
    resemblance = photos @ photo_centroids.T
    penalties: dict[int, np.ndarray | None] = {}
    for group in np.unique(nearest):
        others = np.delete(resemblance, group, axis=1)
        penalties[int(group)] = lam * np.maximum(others.max(1) - EXEMPT_ABOVE, 0)
    return grouped_map(queries, labels, photos, photo_labels, nearest, penalties)


def score(spec: str, sets: QuerySets, bank_samples: list[Sample], seen_samples: list[Sample]) -> dict[str, dict]:
    """mAP@all of every query set under every method, for model ``spec``."""
    embedder = load_model(spec, device="cpu")

    def as_app(samples: list[Sample]) -> np.ndarray:
        return embed_queries(embedder, [open_image(s.path) for s in samples])

    def photos_of(samples: list[Sample]) -> np.ndarray:
        return embed_samples(embedder, samples, embedder.preprocessing, device="cpu")

    tidy = photos_of(sets.photos)
    tidy_labels = np.array([s.label for s in sets.photos])
    others = photos_of(sets.other_photos)
    other_labels = np.array([s.label for s in sets.other_photos])
    mixed, mixed_labels = np.concatenate([tidy, others]), np.concatenate([tidy_labels, other_labels])
    bank = as_app(bank_samples)
    bank_labels = np.array([s.label for s in bank_samples])
    sketchy, doodles = as_app(sets.sketchy), as_app(sets.doodles[1.0])
    sketchy_labels = np.array([s.label for s in sets.sketchy])
    doodle_labels = np.array([s.label for s in sets.doodles[1.0]])
    unseen = sketchy_labels < UNSEEN_TARGETS
    cases = {
        "sketchy-tidy": (sketchy, sketchy_labels, tidy, tidy_labels),
        "sketchy-mixed": (sketchy, sketchy_labels, mixed, mixed_labels),
        "doodles-tidy": (doodles, doodle_labels, tidy, tidy_labels),
        "doodles-mixed": (doodles, doodle_labels, mixed, mixed_labels),
        "doodles-small-tidy": (as_app(sets.small_doodles), np.array([s.label for s in sets.small_doodles]), tidy, tidy_labels),
        "unseen10": (sketchy[unseen], sketchy_labels[unseen], tidy, tidy_labels),
        "seen": (as_app(seen_samples), np.array([s.label for s in seen_samples]), mixed, mixed_labels),
    }
    penalties: dict[str, Penalty | None] = {"plain": None}
    for lam in (0.25, 0.5):
        penalties[f"csls-{lam}"] = lambda p, lam=lam: lam * nearest_mean(bank, NEIGHBOURS)(p)
        penalties[f"sketch-proto-{lam}"] = lambda p, lam=lam: lam * nearest_mean(centroids(bank, bank_labels), 1)(p)
        penalties[f"photo-proto-{lam}"] = lambda p, lam=lam: lam * nearest_mean(centroids(others, other_labels), 1)(p)
    results: dict[str, dict] = {}
    for method, penalty in penalties.items():
        results[method] = {name: round(mean_ap(q, ql, g, gl, None if penalty is None else penalty(g)), 4)
                           for name, (q, ql, g, gl) in cases.items()}
    for lam in (0.5, 1.0):
        results[f"photo-proto-exempt-{lam}"] = {
            name: round(exempt_photo_prototypes(q, ql, g, gl, centroids(bank, bank_labels),
                                                centroids(others, other_labels), lam), 4)
            for name, (q, ql, g, gl) in cases.items()}
    for beta in (10.0, 20.0):
        results[f"dis-{beta:g}"] = {name: round(dynamic_inverted_softmax(q, ql, g, gl, bank, beta), 4)
                                    for name, (q, ql, g, gl) in cases.items()}
    return results


def table(results: dict[str, dict]) -> str:
    """A markdown table of one model's ``results``."""
    names = list(next(iter(results.values())))
    lines = [f"| method | {' | '.join(names)} |", "|---" * (len(names) + 1) + "|"]
    lines += [f"| {method} | {' | '.join(f'{figures[n]:.3f}' for n in names)} |" for method, figures in results.items()]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="model specs (checkpoint folders of 80-class variants)")
    parser.add_argument("--output", type=Path, help="a JSON file to add the results to (by model spec)")
    args = parser.parse_args()
    if not SEEN100.is_dir() or not QUICKDRAW.is_dir():
        print(f"no data at {SEEN100} or {QUICKDRAW}", file=sys.stderr)
        return 2
    results = json.loads(args.output.read_text()) if args.output and args.output.is_file() else {}
    with tempfile.TemporaryDirectory() as folder:
        sets = QuerySets(Path(folder))
        bank, seen = bank_and_seen_queries(sets, Path(folder))
        for spec in args.models:
            results[spec] = score(spec, sets, bank, seen)
            print(f"{spec}\n{table(results[spec])}", flush=True)
            if args.output:
                args.output.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
