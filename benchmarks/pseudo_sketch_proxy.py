"""How sketch-like are the drawn pseudo-sketches? A cheap proxy used to choose their style.

Real sketches of the ten "user" classes (``benchmarks/finetune_user_classes.txt``; sketches 30-44
of each class, the ones the fine-tuning benchmark queries with) retrieve, among drawings made from
12 photos of each class, those of their own class: mAP@all with the ImageNet EfficientNet-Lite0
features at 128 px (no training). A style whose drawings look more like what people draw scores
higher. The first line is the reference: the same sketches against the photos themselves.

    python benchmarks/pseudo_sketch_proxy.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from zssbir_core.data.pseudo_sketch import SketchStyle, photo_to_sketch
from zssbir_core.evaluation.metrics import retrieval_metrics
from zssbir_core.imageio import open_image
from zssbir_core.models import load_model

HERE = Path(__file__).resolve().parent
STYLES = {
    "no centre bias (the first style)": SketchStyle(center_bias=0.0),
    "centre bias 0.6": SketchStyle(center_bias=0.6),
    "centre bias 0.9 (default)": SketchStyle(),
    "no centre bias, sigma 3.5": SketchStyle(center_bias=0.0, sigma=3.5),
    "no centre bias, seeds at the 99th percentile": SketchStyle(center_bias=0.0, high_percentile=99.0),
    "no centre bias, 3 px strokes": SketchStyle(center_bias=0.0, stroke_width=3),
    "centre bias 0.9, 3 px strokes": SketchStyle(stroke_width=3),
    "centre bias 0.9, 99th percentile": SketchStyle(high_percentile=99.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "sketchy-seen100")
    parser.add_argument("--photos", type=int, default=12)
    args = parser.parse_args()
    classes = [c for c in (HERE / "finetune_user_classes.txt").read_text().splitlines() if c and c[0] != "#"]
    embedder = load_model("lite0-imagenet", image_size=128)
    transform = embedder.preprocessing.transform()

    def embed(images: list) -> np.ndarray:
        return np.concatenate([embedder.embed_tensors(torch.stack([torch.from_numpy(transform(x)) for x in images[i:i + 32]]))
                               for i in range(0, len(images), 32)])

    photos = [(open_image(p, target_size=256), label) for label, name in enumerate(classes)
              for p in sorted((args.data / "photo" / name).glob("*.jpg"))[: args.photos]]
    sketches = [(open_image(p, target_size=256), label) for label, name in enumerate(classes)
                for p in sorted((args.data / "sketch" / name).glob("*.png"))[30:45]]
    queries, query_labels = embed([s for s, _ in sketches]), np.array([label for _, label in sketches])
    labels = np.array([label for _, label in photos])
    reference = retrieval_metrics(queries, query_labels, embed([p for p, _ in photos]), labels)["map_all"]
    print(f"| real sketch -> photo (reference) | {reference:.3f} | |")
    for name, style in STYLES.items():
        started = time.perf_counter()
        drawings = embed([photo_to_sketch(p, style=style) for p, _ in photos])
        score = retrieval_metrics(queries, query_labels, drawings, labels)["map_all"]
        print(f"| real sketch -> drawing, {name} | {score:.3f} | {time.perf_counter() - started:.0f} s |", flush=True)


if __name__ == "__main__":
    main()
