"""Held-out retrieval on kinds of sketch no model here trains on: a check beyond Sketchy's style.

Two query sets on the 20 classes of ``heldout_classes.txt`` (no model trained on them):

- ``drawn``: the first 10 photos of each class (by file name) drawn as line drawings by
  ``zssbir_core/data/pseudo_sketch.py`` (its default style: edges, no human hand), searched
  among the other 15 photos of every held-out class (200 queries, 300 photos);
- ``coarse``: every ``sketchy-seen100`` sketch of the 20 classes shrunk to 40 px and enlarged
  again (thick, blurred lines without detail, nearer a quick doodle than a careful drawing),
  searched among all 500 photos of the classes (1,200 queries).

mAP@all and P@10 as ``zssbir-cli eval`` computes them, plain cosine and with the app's query
expansion. Compare models in one run, on an idle machine::

    python benchmarks/sketch_styles.py default sketch-lite1-v1 lite0-imagenet
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from model_sweep import SEEN100, plain_and_expanded  # a sibling benchmark (this script's folder)
from PIL import Image
from train_ablation import heldout_classes

from zssbir_core.data.folder import SKETCH, FolderDataset, Sample, scan_folder_dataset
from zssbir_core.evaluation.evaluate import embed_samples
from zssbir_core.models import load_model

QUERY_PHOTOS = 10
COARSE_SIZE = 40


def coarse_copies(sketches: list[Sample], folder: Path) -> list[Sample]:
    """Each sketch shrunk to ``COARSE_SIZE`` px and enlarged back to its size, as PNG in ``folder``."""
    copies = []
    for number, sample in enumerate(sketches):
        with Image.open(sample.path) as image:
            grey = image.convert("L")
        small = grey.resize((COARSE_SIZE, COARSE_SIZE), Image.Resampling.BOX)
        path = folder / f"{number:05d}.png"
        small.resize(grey.size, Image.Resampling.BILINEAR).save(path)
        copies.append(Sample(path, sample.label, SKETCH))
    return copies


def score(spec: str, seen: FolderDataset, coarse: list[Sample]) -> dict[str, dict[str, float]]:
    """The figures of model ``spec`` on both query sets (``seen``: seen100's held-out classes)."""
    embedder = load_model(spec, device="cpu")
    prep = embedder.preprocessing
    photos = seen.photos()
    by_class: dict[int, list[Sample]] = {}
    for photo in sorted(photos, key=lambda s: s.path.name):
        by_class.setdefault(photo.label, []).append(photo)
    drawn = [Sample(p.path, p.label, SKETCH) for label in sorted(by_class) for p in by_class[label][:QUERY_PHOTOS]]
    rest = [p for label in sorted(by_class) for p in by_class[label][QUERY_PHOTOS:]]
    results = {}
    for name, queries, gallery_samples, draw in (("drawn", drawn, rest, True), ("coarse", coarse, photos, False)):
        vectors = embed_samples(embedder, queries, prep, device="cpu", draw_sketches=draw)
        gallery = embed_samples(embedder, gallery_samples, prep, device="cpu")
        labels = np.array([s.label for s in gallery_samples])
        for suffix, figures in plain_and_expanded(vectors, queries, gallery, labels).items():
            results[name + suffix] = figures
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="model specs (built-in ids, default, checkpoint folders)")
    args = parser.parse_args()
    if not (SEEN100 / "photo").is_dir():
        print(f"no data at {SEEN100}", file=sys.stderr)
        return 2
    seen = scan_folder_dataset(SEEN100, check_images=False).subset(heldout_classes())
    with tempfile.TemporaryDirectory() as folder:
        coarse = coarse_copies(seen.sketches(), Path(folder))
        for spec in args.models:
            print(spec, json.dumps(score(spec, seen, coarse)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
