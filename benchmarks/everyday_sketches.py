"""Held-out retrieval for sketches as people draw them, in a library as people keep it (issue 18).

Every figure is on the 20 classes of ``heldout_classes.txt``: compare only models that never
trained on them (the 80-class variants, raw ImageNet features). mAP@all and P@10 as
``zssbir-cli eval`` computes them, plain cosine (``""``) and with the app's query expansion
(``"-qe"``, 5 photos):

- ``sketchy``: the 1,200 ``sketchy-seen100`` sketches of the classes against their 500 photos of
  ``sketchy-all100`` (the sweep's main figure);
- ``doodles``: every Quick, Draw! doodle of the held-out classes in ``quickdraw-seen`` (15 of the 20
  have some: 308 doodles), its raw strokes replayed on the app's canvas at the default pen width
  (``canvas_strokes.py``), against the same 500 photos;
- ``doodles-png``: the same doodles as ``quickdraw-seen`` ships them (1-bit PNGs, 4 px strokes,
  16 px margin): how a doodle data set is usually rendered, not by the app's canvas;
- ``doodles-small``: the same doodles drawn at 55 % of their size, centred on a random point of
  the page that keeps them on it (seeded per doodle): someone drawing small and off-centre;
- ``partial-25`` ... ``partial-100``: the same doodles after the first 25, 50, 75 and 100 % of
  their strokes (as the app searches after each stroke);
- ``mixed-seen``: the sketchy and doodle queries against the 500 photos plus the 2,000 photos of
  the 80 other classes (every photo of ``sketchy-all100``): a library that also holds other
  subjects. The 80-class variants trained on those 2,000 photos (no other photos are on this
  machine), so this is the seen-class-bias case of generalised zero-shot retrieval;
- ``mixed-unseen``: queries of the first 10 held-out classes (alphabetically) against all 500
  photos: 250 photos of subjects no query asks for and no model trained on;
- ``drawn`` and ``coarse``: ``sketch_styles.py``'s two query sets (photos drawn as line drawings
  against the other photos; sketches shrunk to 40 px and enlarged).

Every sketch query set is also scored as the app searches (``<set>-views``, ``<set>-views-qe``): each
query embedded as drawn and framed to its strokes, the two vectors averaged (``query_views.py``).

    python benchmarks/everyday_sketches.py lite0-imagenet runs/v2-80/heldout-variant/model --output results.json
    python benchmarks/everyday_sketches.py --table --output results.json   (a markdown table of them)

``--margin M`` scores only the ``-views`` sets, with the framed view's margin (``query_views.MARGIN``)
set to M, under the key ``"SPEC margin=M"``. ``--extra-view mirror`` (or ``heavy``) scores only the
``-views`` sets with one more view of each view, mirrored left to right (or its strokes thickened by
a 3x3 minimum filter), under ``"SPEC +mirror"``: test-time augmentations of the query.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from canvas_strokes import canvas_image  # sibling benchmarks (this script's folder)
from model_sweep import ALL100, SEEN100, SHARED, plain_and_expanded
from PIL import Image, ImageFilter, ImageOps
from sketch_styles import QUERY_PHOTOS, coarse_copies
from train_ablation import heldout_classes

from zssbir_core import query_views
from zssbir_core.data.doodles import read_doodles
from zssbir_core.data.folder import PHOTO, SKETCH, Sample, scan_folder_dataset
from zssbir_core.evaluation.evaluate import embed_samples
from zssbir_core.imageio import open_image
from zssbir_core.models import load_model
from zssbir_core.query_views import embed_queries

EXTRA_VIEWS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "mirror": ImageOps.mirror,
    "heavy": lambda image: image.filter(ImageFilter.MinFilter(3)),
}
"""Test-time augmentations of ``--extra-view``: each view of a query is also embedded this way."""

QUICKDRAW = SHARED / "quickdraw-seen"
SHARES = (0.25, 0.5, 0.75, 1.0)
UNSEEN_TARGETS = 10
SMALL = 0.55
"""Size of the ``doodles-small`` drawings, as a share of the fitted doodle's."""


def doodle_queries(classes: list[str], folder: Path) -> tuple[dict[float, list[Sample]], list[Sample]]:
    """For each share of strokes, the held-out doodles drawn on the canvas, and the whole doodles
    drawn small and off-centre, as PNGs in ``folder``."""
    queries: dict[float, list[Sample]] = {share: [] for share in SHARES}
    small: list[Sample] = []
    for label, name in enumerate(classes):
        for key, strokes in sorted(read_doodles(QUICKDRAW, name).items()):
            for share in SHARES:
                path = folder / f"{name}-{key}-{int(share * 100)}.png"
                canvas_image(strokes, share).save(path)
                queries[share].append(Sample(path, label, SKETCH))
            reach = 0.5 - SMALL / 2
            x, y = np.random.default_rng(int(key) % 2**32).uniform(0.5 - reach, 0.5 + reach, size=2)
            path = folder / f"{name}-{key}-small.png"
            canvas_image(strokes, 1.0, (SMALL, float(x), float(y))).save(path)
            small.append(Sample(path, label, SKETCH))
    return queries, small


class QuerySets:
    """Every query and gallery sample of the benchmark, made once for all models."""

    def __init__(self, folder: Path) -> None:
        self.classes = heldout_classes()
        seen = scan_folder_dataset(SEEN100, check_images=False).subset(self.classes)
        everything = scan_folder_dataset(ALL100, check_images=False)
        held = everything.subset(self.classes)
        self.photos = held.photos()
        self.other_classes = [name for name in everything.classes if name not in set(self.classes)]
        self.other_photos = [Sample(s.path, 1000 + s.label, PHOTO)
                             for s in everything.subset(self.other_classes).photos()]
        self.sketchy = seen.sketches()
        self.coarse = coarse_copies(self.sketchy, folder)
        by_class: dict[int, list[Sample]] = {}
        for photo in sorted(self.photos, key=lambda s: s.path.name):
            by_class.setdefault(photo.label, []).append(photo)
        self.drawn = [Sample(p.path, p.label, SKETCH) for c in sorted(by_class) for p in by_class[c][:QUERY_PHOTOS]]
        self.rest = [p.path for c in sorted(by_class) for p in by_class[c][QUERY_PHOTOS:]]
        self.doodles, self.small_doodles = doodle_queries(self.classes, folder)
        self.doodle_pngs = [Sample(path, label, SKETCH) for label, name in enumerate(self.classes)
                            for path in sorted((QUICKDRAW / "sketch" / name).glob("*.png"))]


def score(spec: str, sets: QuerySets, views_only: bool = False) -> dict[str, dict]:
    """Every figure of model ``spec`` (``views_only``: those of the queries as the app embeds them)."""
    embedder = load_model(spec, device="cpu")
    prep = embedder.preprocessing
    start = time.perf_counter()

    def embed(samples: list[Sample], draw: bool = False) -> np.ndarray:
        return embed_samples(embedder, samples, prep, device="cpu", draw_sketches=draw)

    def as_app(samples: list[Sample]) -> np.ndarray:
        return embed_queries(embedder, [open_image(s.path) for s in samples])

    photos = embed(sets.photos)
    labels = np.array([s.label for s in sets.photos])
    others = embed(sets.other_photos)
    mixed = np.concatenate([photos, others])
    mixed_labels = np.concatenate([labels, [s.label for s in sets.other_photos]])
    results: dict[str, dict] = {}

    def record(name: str, vectors: np.ndarray, queries: list[Sample], gallery: np.ndarray, gallery_labels) -> None:
        for suffix, figures in plain_and_expanded(vectors, queries, gallery, gallery_labels).items():
            results[name + suffix] = figures

    targets = [i for i, s in enumerate(sets.sketchy) if s.label < UNSEEN_TARGETS]
    kinds = (("-views", as_app),) if views_only else (("", embed), ("-views", as_app))
    for views, vectors_of in kinds:
        sketchy = vectors_of(sets.sketchy)
        record("sketchy" + views, sketchy, sets.sketchy, photos, labels)
        record("mixed-seen-sketchy" + views, sketchy, sets.sketchy, mixed, mixed_labels)
        record("mixed-unseen-sketchy" + views, sketchy[targets], [sets.sketchy[i] for i in targets], photos, labels)
        for share in SHARES:
            queries = sets.doodles[share]
            vectors = vectors_of(queries)
            record(f"partial-{int(share * 100)}{views}", vectors, queries, photos, labels)
            if share == 1.0:
                record("doodles" + views, vectors, queries, photos, labels)
                record("mixed-seen-doodles" + views, vectors, queries, mixed, mixed_labels)
        record("doodles-small" + views, vectors_of(sets.small_doodles), sets.small_doodles, photos, labels)
        record("doodles-png" + views, vectors_of(sets.doodle_pngs), sets.doodle_pngs, photos, labels)
        record("coarse" + views, vectors_of(sets.coarse), sets.coarse, photos, labels)
    if not views_only:
        rest = np.array([s.path in set(sets.rest) for s in sets.photos])
        record("drawn", embed(sets.drawn, draw=True), sets.drawn, photos[rest], labels[rest])
    results["eval_s"] = {"wall": round(time.perf_counter() - start, 1)}
    return results


COLUMNS = (("sketchy", "map_all"), ("doodles", "map_all"), ("doodles-png", "map_all"), ("doodles-small", "map_all"),
           ("drawn", "map_all"), ("coarse", "map_all"),
           ("mixed-seen-sketchy", "map_all"), ("mixed-unseen-sketchy", "map_all"), ("mixed-seen-doodles", "map_all"),
           ("partial-25", "p_10"), ("partial-50", "p_10"), ("partial-75", "p_10"), ("partial-100", "p_10"))


def table(results: dict[str, dict], views: str = "") -> str:
    """A markdown table of ``results``: mAP@all (P@10 for the partial doodles), plain / with QE;
    ``views="-views"``: the queries as the app embeds them."""
    head = " | ".join(f"{name} {'P@10' if metric == 'p_10' else 'mAP'}" for name, metric in COLUMNS)
    lines = [f"| model | {head} |", "|---" * (len(COLUMNS) + 1) + "|"]
    for spec, figures in results.items():
        cells = [f"{figures[name + views][metric]:.3f} / {figures[name + views + '-qe'][metric]:.3f}"
                 if name + views in figures else "-" for name, metric in COLUMNS]
        lines.append(f"| {spec} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="model specs (built-in ids, checkpoint folders)")
    parser.add_argument("--output", type=Path, help="a JSON file to add the results to (by model spec)")
    parser.add_argument("--table", action="store_true", help="print the --output file as a markdown table and stop")
    parser.add_argument("--views", action="store_true", help="with --table: the figures of the queries as the app embeds them")
    parser.add_argument("--margin", type=float, help="score only the app's query views, with this framing margin")
    parser.add_argument("--extra-view", choices=sorted(EXTRA_VIEWS),
                        help="score only the app's query views, each also embedded mirrored or with heavier strokes")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.output.read_text()), "-views" if args.views else ""))
        return 0
    for folder in (SEEN100, ALL100, QUICKDRAW):
        if not folder.is_dir():
            print(f"no data at {folder}", file=sys.stderr)
            return 2
    results = json.loads(args.output.read_text()) if args.output and args.output.is_file() else {}
    with tempfile.TemporaryDirectory() as folder:
        sets = QuerySets(Path(folder))
        if args.margin is not None:
            query_views.MARGIN = args.margin
        if args.extra_view:
            augment, app_views = EXTRA_VIEWS[args.extra_view], query_views.views
            query_views.views = lambda image: [v for view in app_views(image) for v in (view, augment(view))]
        for spec in args.models:
            key = spec + ("" if args.margin is None else f" margin={args.margin:g}")
            key += f" +{args.extra_view}" if args.extra_view else ""
            results[key] = score(spec, sets, views_only=key != spec)
            print(key, json.dumps(results[key]), flush=True)
            if args.output:
                args.output.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
