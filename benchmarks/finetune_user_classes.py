"""Fine-tuning on "the user's classes": does it help, what is forgotten, how long does it take?

Ten classes of sketchy-seen100 (``benchmarks/finetune_user_classes.txt``) play the user's own
things; ten other classes (``benchmarks/finetune_other_classes.txt``) show what is forgotten. The
starting model (``--init``, default ``lite0-imagenet``) is fine-tuned with a recipe (default
``quick``) through the real ``zssbir-cli train`` child process, in variants:

  a  the user's photos only (all 25 per class); the trainer draws pseudo-sketches from them;
  b  the user's photos and the first ``--train-sketches`` real sketches of each class (by name);
  c  as b, plus replay: photos and ``--train-sketches`` sketches of ten more classes
     (``benchmarks/finetune_replay_classes.txt``, disjoint from the other two lists), standing in
     for the data the current model was trained on.

Evaluation (sketch -> photo, mAP@all and P@10, ``zssbir_core.finetuning.figures.compare_models``):
on the user's classes, the queries are the real sketches NOT used in (b) (the last 60 -
``--train-sketches`` of each class, the same for every row) against all their photos; on the
other classes, ``--other-sketches`` sketches per class against all their photos. Rows: the
starting model (before), and each variant (after), with the wall time of the training child
process and the median training throughput (images/s of the optimiser step, data loading excluded,
as the trainer reports it). ``--profile`` adds a breakdown of one training step (data loading, pseudo-sketch
drawing, forward+backward at several input sizes and frozen fractions).

    python benchmarks/finetune_user_classes.py --work /tmp/ft-bench --variants a,b --profile \\
        --json docs/benchmarks/finetune_results.json

On a GPU (the CUDA check: the standard recipe, mixed precision chosen by the trainer's "auto"):

    python benchmarks/finetune_user_classes.py --work /tmp/ft-cuda --device cuda --recipe standard \\
        --variants a,b --json /tmp/ft-cuda/results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "sketchy-seen100"


def read_classes(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def link_tree(pairs: list[tuple[Path, Path]]) -> None:
    for source, target in pairs:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            os.symlink(source, target)


def build_views(data: Path, user: list[str], other: list[str], replay: list[str], train_sketches: int,
                other_sketches: int, work: Path) -> dict[str, Path]:
    """Dataset folders (symbolic links into ``data``) for training and evaluation."""
    names = ("photos_only", "photos_sketches", "replay", "eval_user", "eval_other")
    views = {name: work / "views" / name for name in names}
    pairs: list[tuple[Path, Path]] = []
    for name in user:
        photos = sorted((data / "photo" / name).iterdir())
        sketches = sorted((data / "sketch" / name).iterdir())
        for photo in photos:
            pairs.append((photo, views["photos_only"] / name / photo.name))
            pairs.append((photo, views["photos_sketches"] / "photo" / name / photo.name))
            pairs.append((photo, views["replay"] / "photo" / name / photo.name))
            pairs.append((photo, views["eval_user"] / "photo" / name / photo.name))
        for sketch in sketches[:train_sketches]:
            pairs.append((sketch, views["photos_sketches"] / "sketch" / name / sketch.name))
            pairs.append((sketch, views["replay"] / "sketch" / name / sketch.name))
        for sketch in sketches[train_sketches:]:
            pairs.append((sketch, views["eval_user"] / "sketch" / name / sketch.name))
    for name in replay:
        for photo in sorted((data / "photo" / name).iterdir()):
            pairs.append((photo, views["replay"] / "photo" / name / photo.name))
        for sketch in sorted((data / "sketch" / name).iterdir())[:train_sketches]:
            pairs.append((sketch, views["replay"] / "sketch" / name / sketch.name))
    for name in other:
        for photo in sorted((data / "photo" / name).iterdir()):
            pairs.append((photo, views["eval_other"] / "photo" / name / photo.name))
        for sketch in sorted((data / "sketch" / name).iterdir())[:other_sketches]:
            pairs.append((sketch, views["eval_other"] / "sketch" / name / sketch.name))
    link_tree(pairs)
    return views


def evaluate(spec: str, views: dict[str, Path], device: str) -> dict[str, dict[str, float]]:
    from zssbir_core.finetuning.figures import compare_models

    result = {}
    for key in ("eval_user", "eval_other"):
        started = time.perf_counter()
        result[key] = compare_models([spec], views[key], device=device)[spec]
        result[key]["eval_s"] = round(time.perf_counter() - started, 1)
    return result


def train(variant: str, data: Path, output: Path, args: argparse.Namespace) -> dict[str, object]:
    """Run ``zssbir-cli train`` as a child process; return its wall time and end event."""
    command = [sys.executable, "-m", "zssbir_core", "train", "--data", str(data), "--output", str(output),
               "--recipe", args.recipe, "--init", args.init, "--device", args.device, "--progress", "json"]
    if args.config:
        command += ["--config", str(args.config)]
    print(f"[{variant}] {' '.join(command)}", flush=True)
    started = time.perf_counter()
    end: dict[str, object] = {}
    first_step = None
    rates: list[float] = []
    precision = ""
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        for line in child.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == "start":
                precision = f"{event.get('device')} {event.get('precision')}"
            if event.get("event") == "step":
                first_step = first_step or time.perf_counter()
                rates.append(float(event["images_per_s"]))
                if event["step"] % 20 == 0:
                    print(f"[{variant}] step {event['step']} loss {event['losses']['total']:.3f} "
                          f"eta {event['eta_s']:.0f}s", flush=True)
            if event.get("event") == "end":
                end = event
    wall = time.perf_counter() - started
    if child.returncode != 0 or not end.get("checkpoint"):
        raise SystemExit(f"training variant {variant} failed (exit {child.returncode})")
    return {"wall_s": round(wall, 1), "startup_s": round((first_step or started) - started, 1),
            "steps": end.get("steps"), "images_per_s_median": round(statistics.median(rates), 2) if rates else None,
            "device_precision": precision, "checkpoint": end["checkpoint"]}


def profile(data: Path, user: list[str], device: str, repeats: int) -> dict[str, object]:
    """Where the time of one training step goes, on this machine."""
    import torch

    from zssbir_core.data.domains import PHOTO, SKETCH
    from zssbir_core.data.pseudo_sketch import PseudoSketchTransform, photo_to_sketch
    from zssbir_core.data.transforms import train_transform
    from zssbir_core.imageio import open_image
    from zssbir_core.losses import DomainBalancedQuadrupletLoss
    from zssbir_core.models import ZSSBIRNet, build_backbone
    from zssbir_core.training.setup import freeze_early_layers

    torch.manual_seed(0)
    photos = [p for name in user for p in sorted((data / "photo" / name).iterdir())[:2]]
    result: dict[str, object] = {"threads": torch.get_num_threads()}
    preprocessing = build_backbone("efficientnet_lite0", pretrained=False).preprocessing.with_size(128)
    photo_tf, sketch_tf = train_transform(preprocessing, PHOTO), train_transform(preprocessing, SKETCH)

    def per_image(fn) -> float:
        times = []
        for path in photos:
            started = time.perf_counter()
            fn(path)
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    rng = random.Random(0)
    result["photo_decode_augment_ms"] = round(per_image(lambda p: photo_tf(open_image(p, target_size=128))), 2)
    result["pseudo_sketch_draw_ms"] = round(
        per_image(lambda p: photo_to_sketch(open_image(p, target_size=128), rng=rng)), 2)
    result["sketch_from_photo_total_ms"] = round(
        per_image(lambda p: sketch_tf(photo_to_sketch(open_image(p, target_size=128), rng=rng))), 2)
    cached = PseudoSketchTransform(sketch_tf, variants_per_photo=1)
    decoded = {p: open_image(p, target_size=128) for p in photos}
    for path in photos:
        cached(decoded[path])
    result["sketch_from_photo_cached_ms"] = round(per_image(lambda p: cached(decoded[p])), 2)
    result["photo_decode_ms"] = round(per_image(lambda p: open_image(p, target_size=128)), 2)

    quadruplet = DomainBalancedQuadrupletLoss(0.3, 0.1)
    steps = {}
    for size, frozen in ((160, 0.0), (128, 0.0), (128, 0.3), (128, 0.6), (96, 0.3)):
        net = ZSSBIRNet(build_backbone("efficientnet_lite0"), 512, 10).to(device).train()
        freeze_early_layers(net.backbone.trunk, frozen)
        optimizer = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4)
        images = torch.randn(32, 3, size, size, device=device)
        labels = torch.arange(8, device=device).repeat_interleave(4)
        domains = torch.tensor([0, 0, 1, 1] * 8, device=device)
        times = []
        for index in range(repeats + 1):
            started = time.perf_counter()
            output = net(images)
            loss = quadruplet(output.embedding, labels, domains) + output.class_logits.logsumexp(1).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if index:
                times.append(time.perf_counter() - started)
        steps[f"{size}px_frozen{frozen:.1f}"] = round(statistics.median(times), 3)
        print(f"[profile] {size}px frozen {frozen:.1f}: {steps[f'{size}px_frozen{frozen:.1f}']:.3f} s/step "
              "(32 images)", flush=True)
    result["model_step_s_batch32"] = steps
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--user-classes", type=Path, default=HERE / "finetune_user_classes.txt")
    parser.add_argument("--other-classes", type=Path, default=HERE / "finetune_other_classes.txt")
    parser.add_argument("--replay-classes", type=Path, default=HERE / "finetune_replay_classes.txt")
    parser.add_argument("--train-sketches", type=int, default=30, help="real sketches per class used by (b)")
    parser.add_argument("--other-sketches", type=int, default=30, help="query sketches per other class")
    parser.add_argument("--recipe", default="quick")
    parser.add_argument("--config", type=Path, help="extra settings for the train command (JSON)")
    parser.add_argument("--init", default="lite0-imagenet")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--variants", default="a,b")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--no-before", action="store_true", help="skip evaluating the starting model")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    os.environ.setdefault("ZSSBIR_DATA_DIR", str(args.work / "zssbir-data"))
    user, other = read_classes(args.user_classes), read_classes(args.other_classes)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    replay = read_classes(args.replay_classes) if "c" in variants else []
    if set(user) & set(other) or set(replay) & (set(user) | set(other)):
        raise SystemExit("the user, other and replay class lists must not overlap")
    views = build_views(args.data, user, other, replay, args.train_sketches, args.other_sketches, args.work)
    results: dict[str, object] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.platform()}",
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "recipe": args.recipe, "init": args.init, "device": args.device,
        "user_classes": user, "other_classes": other, "replay_classes": replay, "rows": {},
    }
    rows: dict[str, object] = results["rows"]  # type: ignore[assignment]

    def save() -> None:
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")

    if not args.no_before:
        rows["before"] = {"model": args.init, **evaluate(args.init, views, args.device)}
        print(f"[before] {rows['before']}", flush=True)
        save()
    sources = {"a": views["photos_only"], "b": views["photos_sketches"], "c": views["replay"]}
    for variant in variants:
        run = train(variant, sources[variant], args.work / f"run-{variant}-{int(time.time())}", args)
        rows[variant] = {**run, **evaluate(str(run["checkpoint"]), views, args.device)}
        print(f"[{variant}] {rows[variant]}", flush=True)
        save()
    if args.profile:
        results["profile"] = profile(args.data, user, args.device, args.profile_repeats)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    save()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
