"""GPU check: index generated photos and fine-tune both backbones on a device, then confirm the
results match the CPU.

For each backbone (EfficientNet-Lite0, ResNet50) it

1. indexes a folder of generated photos with ``zssbir-cli index`` on the device (images/s),
2. indexes a small subset on the device and on the CPU and compares ``zssbir-cli search`` results
   for generated sketches (top-k overlap, largest score difference),
3. fine-tunes with ``zssbir-cli train --recipe quick`` on generated classes on the device
   (images/s) and for a few steps on the CPU with the same seed, and compares the losses of the
   first steps (same weights, same batches; the device runs in mixed precision).

It exits 1 when a comparison is outside its tolerance. ``--device cpu`` is a dry run of the same
path with tiny sizes (the "device" is then the CPU itself), for machines without a GPU.
Photos and sketches are drawn here (coloured shapes on textured backgrounds, and their outlines):
nothing is downloaded. ResNet50 uses its ImageNet weights when they are in the torch hub cache,
else a randomly initialised weights file (speed and CPU agreement do not depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

SHAPES = ("circle", "square", "triangle", "star", "cross", "ring", "diamond", "hexagon", "arrow", "moon")
BACKBONES = {"efficientnet_lite0": "lite0-imagenet", "resnet50": "resnet50-imagenet"}
TOLERANCE = {"index_top_overlap": 0.8, "index_score_diff": 0.03, "train_first_loss_rel": 0.05,
             "train_early_loss_rel": 0.15}


# -- generated data --------------------------------------------------------------------------

def _outline(shape: str, cx: float, cy: float, r: float, turn: float) -> list[list[tuple[float, float]]]:
    """Polygons (outer first) of ``shape`` centred at (cx, cy) with radius r, rotated by turn."""

    def ring(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        c, s = math.cos(turn), math.sin(turn)
        return [(cx + x * r * c - y * r * s, cy + x * r * s + y * r * c) for x, y in points]

    def regular(n: int, scale: float = 1.0, phase: float = 0.0) -> list[tuple[float, float]]:
        return [(scale * math.cos(phase + 2 * math.pi * k / n), scale * math.sin(phase + 2 * math.pi * k / n))
                for k in range(n)]

    if shape in ("circle", "ring", "moon"):
        outer = regular(48)
        if shape == "circle":
            return [ring(outer)]
        inner = regular(48, 0.55) if shape == "ring" else [(x + 0.45, y - 0.2) for x, y in regular(48, 0.85)]
        return [ring(outer), ring(inner)]
    if shape == "square":
        return [ring(regular(4, 1.0, math.pi / 4))]
    if shape == "diamond":
        return [ring([(0, -1), (0.6, 0), (0, 1), (-0.6, 0)])]
    if shape == "triangle":
        return [ring(regular(3, 1.0, -math.pi / 2))]
    if shape == "hexagon":
        return [ring(regular(6))]
    if shape == "star":
        points = []
        for k in range(10):
            radius = 1.0 if k % 2 == 0 else 0.42
            points.append((radius * math.cos(-math.pi / 2 + math.pi * k / 5),
                           radius * math.sin(-math.pi / 2 + math.pi * k / 5)))
        return [ring(points)]
    if shape == "cross":
        a, b = 0.3, 1.0
        return [ring([(-a, -b), (a, -b), (a, -a), (b, -a), (b, a), (a, a), (a, b), (-a, b), (-a, a), (-b, a),
                      (-b, -a), (-a, -a)])]
    if shape == "arrow":
        return [ring([(-1, -0.25), (0.2, -0.25), (0.2, -0.6), (1, 0), (0.2, 0.6), (0.2, 0.25), (-1, 0.25)])]
    raise ValueError(shape)


def draw_photo(shape: str, rng: random.Random, size: int = 256) -> Image.Image:
    """A coloured shape on a textured, shaded background (a JPEG-like photo)."""
    top = tuple(rng.randrange(40, 230) for _ in range(3))
    bottom = tuple(rng.randrange(20, 200) for _ in range(3))
    shade = Image.linear_gradient("L").resize((size, size))  # 0 at the top, 255 at the bottom
    image = Image.composite(Image.new("RGB", (size, size), bottom), Image.new("RGB", (size, size), top), shade)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randrange(10, 30)):  # background clutter
        x, y, w = rng.randrange(size), rng.randrange(size), rng.randrange(4, 30)
        draw.ellipse((x, y, x + w, y + w), fill=tuple(rng.randrange(256) for _ in range(3)))
    r = rng.uniform(0.22, 0.38) * size
    cx, cy = rng.uniform(r, size - r), rng.uniform(r, size - r)
    polygons = _outline(shape, cx, cy, r, rng.uniform(-0.4, 0.4))
    draw.polygon(polygons[0], fill=tuple(rng.randrange(256) for _ in range(3)))
    for hole in polygons[1:]:
        draw.polygon(hole, fill=image.getpixel((int(cx), 2)))
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))


def draw_sketch(shape: str, rng: random.Random, size: int = 256) -> Image.Image:
    """The shape's outline in black strokes on white, slightly wobbly, as a person would draw it."""
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    r = rng.uniform(0.25, 0.4) * size
    cx, cy = size / 2 + rng.uniform(-20, 20), size / 2 + rng.uniform(-20, 20)
    for polygon in _outline(shape, cx, cy, r, rng.uniform(-0.3, 0.3)):
        wobbly = [(x + rng.uniform(-3, 3), y + rng.uniform(-3, 3)) for x, y in polygon]
        draw.line([*wobbly, wobbly[0]], fill=0, width=rng.randrange(3, 6), joint="curve")
    return image


def make_dataset(root: Path, classes: int, photos: int, sketches: int, seed: int) -> None:
    """``root/photo/<shape>/*.jpg`` and ``root/sketch/<shape>/*.png``."""
    rng = random.Random(seed)
    for shape in SHAPES[:classes]:
        (root / "photo" / shape).mkdir(parents=True, exist_ok=True)
        (root / "sketch" / shape).mkdir(parents=True, exist_ok=True)
        for i in range(photos):
            draw_photo(shape, rng).save(root / "photo" / shape / f"{i:04d}.jpg", quality=88)
        for i in range(sketches):
            draw_sketch(shape, rng).save(root / "sketch" / shape / f"{i:04d}.png")


def make_photo_folder(root: Path, count: int, seed: int) -> None:
    """``count`` generated photos in one folder, for indexing."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        draw_photo(SHAPES[i % len(SHAPES)], rng).save(root / f"photo-{i:05d}.jpg", quality=88)


# -- running the command line ----------------------------------------------------------------

def zssbir_cli(args: list[str], data_dir: Path, *, capture: bool = True) -> list[dict[str, Any]]:
    """Run ``python -m zssbir_core ARGS``; return its JSON lines; raise with stderr on failure."""
    env = dict(os.environ, ZSSBIR_DATA_DIR=str(data_dir))
    result = subprocess.run([sys.executable, "-m", "zssbir_core", *args], env=env, text=True,
                            capture_output=capture)
    if result.returncode != 0:
        raise SystemExit(f"zssbir-cli {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return [json.loads(line) for line in (result.stdout or "").splitlines() if line.startswith("{")]


def model_args(backbone: str, weights: Path | None) -> list[str]:
    return ["--model", BACKBONES[backbone], *(["--weights", str(weights)] if weights else [])]


def index(photos: Path, library: Path, backbone: str, device: str, weights: Path | None,
          work: Path, batch_size: int) -> dict[str, float]:
    started = time.perf_counter()
    events = zssbir_cli(["index", "--library", str(library), "--add", str(photos), *model_args(backbone, weights),
                         "--device", device, "--batch-size", str(batch_size), "--progress", "json"],
                        work / f"data-{device.replace(':', '')}")
    embed = [e for e in events if e["phase"] == "embed"]
    return {"photos": embed[-1]["done"] if embed else 0, "images_per_s": embed[-1]["rate"] if embed else 0.0,
            "wall_s": time.perf_counter() - started}


def search(library: Path, sketches: list[Path], device: str, weights: Path | None, backbone: str,
           work: Path, k: int) -> list[list[tuple[str, float]]]:
    lines = zssbir_cli(["search", "--library", str(library), "--sketch", *map(str, sketches), "--k", str(k),
                        "--json", "--device", device, *model_args(backbone, weights)],
                       work / f"data-{device.replace(':', '')}")
    return [[(Path(r["path"]).name, r["score"]) for r in line["results"]] for line in lines]


def train(data: Path, output: Path, backbone: str, device: str, weights: Path | None, steps: int,
          image_size: int, classes_per_batch: int, work: Path) -> list[dict[str, Any]]:
    config = output.with_suffix(".json")
    # The same loader workers on both devices: the batches and their augmentations must match.
    config.write_text(json.dumps({"epochs": 1, "batches_per_epoch": steps, "val_classes": 0,
                                  "classes_per_batch": classes_per_batch, "image_size": image_size,
                                  "num_workers": 2, "seed": 0}))
    init = ["--init", BACKBONES[backbone]] + (["--weights", str(weights)] if weights else [])
    events = zssbir_cli(["train", "--data", str(data), "--output", str(output), "--recipe", "quick",
                         "--backbone", backbone, *init, "--config", str(config), "--device", device,
                         "--progress", "json"], work / f"data-{device.replace(':', '')}")
    return [e for e in events if e.get("event") == "step"]


# -- comparisons -----------------------------------------------------------------------------

def compare_search(dev: list[list[tuple[str, float]]], cpu: list[list[tuple[str, float]]], k: int) -> dict[str, float]:
    overlaps, diffs = [], []
    for dev_hits, cpu_hits in zip(dev, cpu):
        overlaps.append(len({p for p, _ in dev_hits[:k]} & {p for p, _ in cpu_hits[:k]}) / k)
        cpu_scores = dict(cpu_hits)
        diffs += [abs(score - cpu_scores[p]) for p, score in dev_hits if p in cpu_scores]
    return {"top_overlap": min(overlaps), "max_score_diff": max(diffs)}


def compare_losses(dev: list[dict[str, Any]], cpu: list[dict[str, Any]]) -> dict[str, float]:
    pairs = [(d["losses"]["total"], c["losses"]["total"]) for d, c in zip(dev, cpu)]
    rel = [abs(d - c) / max(abs(c), 1e-6) for d, c in pairs]
    return {"first_loss_rel": rel[0], "early_loss_rel": max(rel), "steps_compared": len(rel),
            "first_loss_device": pairs[0][0], "first_loss_cpu": pairs[0][1]}


def random_resnet50_weights(path: Path) -> Path:
    import torch
    import torchvision

    torch.manual_seed(0)
    torch.save(torchvision.models.resnet50(weights=None).state_dict(), path)
    return path


def describe_machine(device: str) -> str:
    import torch

    cpu = f"{platform.machine()} CPU, {os.cpu_count()} logical cores"
    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda}, torch {torch.__version__}); {cpu}"
    return f"{cpu} (dry run: CPU as the device; torch {torch.__version__})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="device to check (cuda, cuda:N, mps; cpu = dry run)")
    parser.add_argument("--photos", type=int, help="photos to index (default 2048; dry run 48)")
    parser.add_argument("--steps", type=int, help="training steps on the device (default 40; dry run 3)")
    parser.add_argument("--cpu-steps", type=int, default=3, help="training steps on the CPU for the comparison")
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=list(BACKBONES))
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one, removed after)")
    args = parser.parse_args(argv)
    dry = args.device == "cpu"
    photos = args.photos or (48 if dry else 2048)
    steps = args.steps or (3 if dry else 40)
    image_size, classes, per_class = (96, 4, 6) if dry else (160, 8, 24)
    classes_per_batch = 4 if dry else 8
    batch_size = 16 if dry else 128
    k = 5 if dry else 10

    work = args.work or Path(tempfile.mkdtemp(prefix="zssbir-gpu-check-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {describe_machine(args.device)}")
    print(f"work folder: {work}")
    started = time.perf_counter()
    make_dataset(work / "classes", classes, per_class, per_class, seed=1)
    make_photo_folder(work / "photos", photos, seed=2)
    subset = work / "agree"
    subset.mkdir(exist_ok=True)
    for path in sorted((work / "photos").iterdir())[: min(photos, 96)]:
        shutil.copy2(path, subset / path.name)
    sketches = [sorted((work / "classes" / "sketch" / s).iterdir())[0] for s in SHAPES[:classes]]
    print(f"generated {photos} photos to index and {classes} classes x {per_class} photos + sketches "
          f"in {time.perf_counter() - started:.1f} s")

    from zssbir_core.models.resnet import resnet50_cache_path

    results: dict[str, dict[str, Any]] = {}
    failures = []
    for backbone in args.backbones:
        weights = None
        if backbone == "resnet50" and not resnet50_cache_path().is_file():
            weights = random_resnet50_weights(work / "resnet50-random-init.pth")
            print("resnet50: ImageNet weights not cached here; using random-init weights (speed and "
                  "CPU agreement do not depend on them)")
        print(f"\n== {backbone}")
        row = results.setdefault(backbone, {})
        row["index"] = index(work / "photos", work / f"lib-{backbone}-full", backbone, args.device, weights,
                             work, batch_size)
        print(f"index on {args.device}: {row['index']['photos']} photos, "
              f"{row['index']['images_per_s']:.1f} images/s (command wall {row['index']['wall_s']:.1f} s)")
        for device in dict.fromkeys([args.device, "cpu"]):
            library_dir = work / f"lib-{backbone}-{device.replace(':', '')}"
            index(subset, library_dir, backbone, device, weights, work, batch_size)
        dev_hits = search(work / f"lib-{backbone}-{args.device.replace(':', '')}", sketches, args.device, weights,
                          backbone, work, k)
        cpu_hits = search(work / f"lib-{backbone}-cpu", sketches, "cpu", weights, backbone, work, k)
        row["search"] = compare_search(dev_hits, cpu_hits, k)
        print(f"search {args.device} vs cpu: top-{k} overlap >= {row['search']['top_overlap']:.2f}, "
              f"max score difference {row['search']['max_score_diff']:.4f}")
        if row["search"]["top_overlap"] < TOLERANCE["index_top_overlap"]:
            failures.append(f"{backbone}: search top-{k} overlap {row['search']['top_overlap']:.2f}")
        if row["search"]["max_score_diff"] > TOLERANCE["index_score_diff"]:
            failures.append(f"{backbone}: search score difference {row['search']['max_score_diff']:.4f}")

        dev_steps = train(work / "classes", work / f"train-{backbone}-dev", backbone, args.device, weights, steps,
                          image_size, classes_per_batch, work)
        rates = [s["images_per_s"] for s in dev_steps[2:]] or [s["images_per_s"] for s in dev_steps]
        row["train_images_per_s"] = statistics.median(rates)
        print(f"train on {args.device}: {len(dev_steps)} steps, median {row['train_images_per_s']:.1f} images/s "
              f"(after 2 warm-up steps), loss {dev_steps[0]['losses']['total']:.3f} -> "
              f"{dev_steps[-1]['losses']['total']:.3f}")
        cpu_steps = train(work / "classes", work / f"train-{backbone}-cpu", backbone, "cpu", weights,
                          min(args.cpu_steps, steps), image_size, classes_per_batch, work)
        row["train_cpu_images_per_s"] = statistics.median(s["images_per_s"] for s in cpu_steps)
        row["train_compare"] = compare_losses(dev_steps, cpu_steps)
        cmp = row["train_compare"]
        print(f"train {args.device} vs cpu: first-step loss {cmp['first_loss_device']:.4f} vs "
              f"{cmp['first_loss_cpu']:.4f} (rel. {cmp['first_loss_rel']:.4f}); largest relative difference "
              f"over {cmp['steps_compared']} steps {cmp['early_loss_rel']:.4f}; "
              f"cpu {row['train_cpu_images_per_s']:.1f} images/s")
        if cmp["first_loss_rel"] > TOLERANCE["train_first_loss_rel"]:
            failures.append(f"{backbone}: first training loss differs by {cmp['first_loss_rel']:.3f}")
        if cmp["early_loss_rel"] > TOLERANCE["train_early_loss_rel"]:
            failures.append(f"{backbone}: early training losses differ by {cmp['early_loss_rel']:.3f}")

    print("\n== summary")
    print(f"{'backbone':<20}{'index img/s':>12}{'train img/s':>13}{'cpu train img/s':>17}")
    for backbone, row in results.items():
        print(f"{backbone:<20}{row['index']['images_per_s']:>12.1f}{row['train_images_per_s']:>13.1f}"
              f"{row['train_cpu_images_per_s']:>17.1f}")
    (work / "gpu_check.json").write_text(json.dumps({"device": args.device, "results": results,
                                                    "tolerance": TOLERANCE, "failures": failures}, indent=2))
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        print(f"MISMATCH: {failure}")
    print("RESULT:", "FAIL" if failures else f"OK ({args.device} matches the CPU within tolerance)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
