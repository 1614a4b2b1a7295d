"""CPU embedding speed and memory of each inference step, against naive eager fp32 PyTorch.

Every measurement is a fresh child process (glibc's malloc settings are per process), in the same
order in every repeat, repeats alternating; the table gives medians over repeats. Each child embeds
real Sketchy photos (decoded and preprocessed before timing) at batch 1 (the query path: 2
warm-up and ``--queries`` timed images) and then at each ``--batches`` size (one warm-up batch,
``--timed-batches`` timed), and reports images/s, peak resident memory (ru_maxrss) and resident
memory after 3.5 s idle (the app at rest with the model loaded), and saves its embeddings of the
first 8 photos so that the parent can compare every variant with the naive one (1 - cosine).

Variants (``--variants``):

- ``naive``: the network as built, eager fp32, glibc untouched, whole batches;
- ``main-tuned``: ``naive`` with main's former setting (mmap and trim thresholds at INT_MAX);
- ``static``: only static TF padding; ``fold``: only BatchNorm folding (glibc untouched);
- ``step1``: both (``prepare_for_inference``), whole batches, glibc untouched;
- ``step1-cl``: ``step1`` with channels-last weights and inputs;
- ``step1-1t``: ``step1`` on one torch thread;
- ``shipped``: what ``load_model`` gives without the onnx extra, with the setting the entry points
  make: ``step1``, bounded malloc setting, micro-batches, idle trim (``Embedder.embed_tensors``);
- ``onnx``: ``shipped`` with the onnx extra: the ``step1`` network exported to ONNX and run by
  ONNX Runtime (``zssbir_core.models.onnx_runtime``; fails without the extra).

``default`` is the shipped trained model (``zssbir_core/models/packaged``, run in float32 as
``load_model`` runs it); ``resnet50`` is built with ``pretrained=False`` (its ImageNet weights cannot be downloaded here;
speed does not depend on weight values). Example::

    python benchmarks/cpu_inference.py --models lite0 default resnet50 --repeats 3 \
        --json docs/benchmarks/cpu_inference.json
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PHOTOS = REPO.parent / "shared" / "data" / "sketchy-seen100" / "photo"
BACKBONES = {"lite0": "efficientnet_lite0", "lite1": "efficientnet_lite1", "lite2": "efficientnet_lite2",
             "resnet50": "resnet50"}
VARIANTS = ("naive", "main-tuned", "static", "fold", "step1", "step1-cl", "step1-1t", "shipped", "onnx")
SAVED = 8


def rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(model: str, variant: str, batches: list[int], queries: int, timed_batches: int, save: Path) -> dict:
    if variant == "main-tuned":
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 2**31 - 1)
        libc.mallopt(-1, 2**31 - 1)
    elif variant in ("shipped", "onnx"):
        from zssbir_core.cpu_allocator import tune_malloc

        tune_malloc()
    import numpy as np
    import torch
    from PIL import Image

    from zssbir_core.models import ZSSBIRNet, build_backbone
    from zssbir_core.models.inference import fold_batchnorm, make_padding_static, prepare_for_inference
    from zssbir_core.models.torch_embedder import TorchEmbedder

    if variant == "step1-1t":
        torch.set_num_threads(1)
    torch.manual_seed(0)  # the same random ResNet50 in every child
    if model == "default":  # the shipped trained model (float16 weights loaded into float32, as load_model does)
        from zssbir_core.models import catalog, load_checkpoint

        net, info = load_checkpoint(catalog.builtin("default").checkpoint_dir)
        net, preprocessing, name = net.eval(), info.preprocessing, catalog.DEFAULT_MODEL
    else:
        name = BACKBONES[model]
        backbone = build_backbone(name, pretrained=name != "resnet50")
        net, preprocessing = ZSSBIRNet(backbone, embedding_dim=None).eval(), backbone.preprocessing
    size = preprocessing.image_size
    if variant == "static":
        make_padding_static(net, size)
    elif variant == "fold":
        fold_batchnorm(net)
    elif variant in ("step1", "step1-cl", "step1-1t", "shipped", "onnx"):
        net, micro_batch = prepare_for_inference(net, size)
    channels_last = variant == "step1-cl"
    if channels_last:
        net = net.to(memory_format=torch.channels_last)

    if variant in ("shipped", "onnx"):
        onnx = None
        if variant == "onnx":
            from zssbir_core.models.onnx_runtime import OnnxEncoder, export

            onnx = OnnxEncoder(export(net, size, Path(tempfile.mkdtemp())), size)
        embedder = TorchEmbedder(net=net, device=torch.device("cpu"), preprocessing=preprocessing,
                                 model_id=name, name=name, micro_batch=micro_batch, onnx=onnx)
        run = embedder.embed_tensors
    else:
        def run(batch: torch.Tensor) -> np.ndarray:
            if channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                return net.encode(batch).numpy()

    files = sorted(PHOTOS.glob("*/*.jpg"))[:: 7][: max(batches)]
    transform = preprocessing.transform()
    images = torch.stack([torch.from_numpy(transform(Image.open(f).convert("RGB"))) for f in files])
    np.save(save, np.asarray(run(images[:SAVED])))
    rates: dict[str, float] = {}
    for _ in range(2):
        run(images[:1])
    started = time.perf_counter()
    for i in range(queries):
        run(images[i % len(images)][None])
    rates["1"] = queries / (time.perf_counter() - started)
    for batch in batches:
        run(images[:batch])
        started = time.perf_counter()
        for _ in range(timed_batches):
            run(images[:batch])
        rates[str(batch)] = batch * timed_batches / (time.perf_counter() - started)
    time.sleep(3.5)
    return {"images_per_s": rates, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "idle_rss_mb": rss_bytes() / 2**20}


def measure(model: str, variant: str, args: argparse.Namespace, save: Path) -> dict | None:
    command = [sys.executable, __file__, "--child", model, variant, "--batches", *map(str, args.batches),
               "--queries", str(args.queries), "--timed-batches", str(args.timed_batches), "--save", str(save)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"{model} {variant}: failed: {result.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(result.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["lite0", "default", "resnet50"],
                        choices=[*BACKBONES, "default"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--batches", nargs="+", type=int, default=[32])
    parser.add_argument("--queries", type=int, default=10)
    parser.add_argument("--timed-batches", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "VARIANT"))
    parser.add_argument("--save", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.batches, args.queries, args.timed_batches, args.save)))
        return

    import numpy as np

    runs: dict[str, dict[str, list[dict]]] = {m: {v: [] for v in args.variants} for m in args.models}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        drift: dict[str, dict[str, float]] = {m: {} for m in args.models}
        for repeat in range(args.repeats):
            loads.append(os.getloadavg()[0])
            for model in args.models:
                for variant in args.variants:
                    save = Path(tmp) / f"{model}-{variant}.npy"
                    row = measure(model, variant, args, save)
                    if row is None:
                        continue
                    runs[model][variant].append(row)
                    print(f"repeat {repeat} {model} {variant}: {row}", flush=True)
        for model in args.models:
            reference = Path(tmp) / f"{model}-naive.npy"
            if not reference.exists():
                continue
            a = np.load(reference)
            for variant in args.variants:
                if (Path(tmp) / f"{model}-{variant}.npy").exists():
                    b = np.load(Path(tmp) / f"{model}-{variant}.npy")
                    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
                    drift[model][variant] = float(1 - cos.min())
    loads.append(os.getloadavg()[0])
    summary = {}
    for model, variants in runs.items():
        summary[model] = {}
        for variant, rows in variants.items():
            if not rows:
                continue
            summary[model][variant] = {
                "images_per_s": {b: statistics.median(r["images_per_s"][b] for r in rows) for b in rows[0]["images_per_s"]},
                "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in rows),
                "idle_rss_mb": statistics.median(r["idle_rss_mb"] for r in rows),
                "one_minus_cosine_vs_naive": drift[model].get(variant),
            }
    print("\n| model | variant | img/s b1 | " + " | ".join(f"img/s b{b}" for b in args.batches)
          + " | x naive b1 | " + " | ".join(f"x naive b{b}" for b in args.batches)
          + " | peak RSS MB | idle RSS MB | 1-cos |")
    print("|" + "---|" * (7 + 2 * len(args.batches)))
    for model, variants in summary.items():
        base = variants.get("naive", {}).get("images_per_s", {})
        for variant, row in variants.items():
            ips = row["images_per_s"]
            ratios = [f"{ips[b] / base[b]:.2f}" if b in base else "" for b in ips]
            print(f"| {model} | {variant} | " + " | ".join(f"{ips[b]:.1f}" for b in ips) + " | "
                  + " | ".join(ratios) + f" | {row['peak_rss_mb']:.0f} | {row['idle_rss_mb']:.0f} | "
                  + (f"{row['one_minus_cosine_vs_naive']:.1e} |" if row["one_minus_cosine_vs_naive"] is not None else " |"))
    print(f"\n1-minute load average at each repeat's start and at the end: {loads}")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: v for k, v in vars(args).items() if k not in ("child", "save", "json")},
                                         "load_averages": loads, "summary": summary, "runs": runs}, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
