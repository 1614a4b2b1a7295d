"""Resident memory after indexing a folder and going idle, and the indexing rate, per malloc and
inference setting; each in a fresh child process, alternating, ``--repeats`` times, medians.

A library in a temporary folder indexes ``--photos`` real Sketchy photos (symlinked into one
folder) with EfficientNet-Lite0 at the indexer's default batch (32); the rate is photos per second
of the embed phase. Then the child stays idle for 5 s (the app at rest, model and library open)
and reports its resident memory, and its peak (ru_maxrss).

- ``main-untuned``: the network as main built it (no inference preparation), glibc untouched;
- ``main-tuned``: the same with main's former setting (mmap and trim thresholds at INT_MAX);
- ``shipped``: ``load_model`` and ``tune_malloc`` as the app does, PyTorch (``ZSSBIR_RUNTIME=torch``);
- ``shipped-onnx``: the same with the onnx extra (ONNX Runtime), when it is installed.

    python benchmarks/cpu_memory.py --photos 1000 --repeats 2 --json docs/benchmarks/cpu_memory.json
"""

from __future__ import annotations

import argparse
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
MODES = ("main-untuned", "main-tuned", "shipped", "shipped-onnx")


def child(mode: str, folder: Path) -> dict:
    if mode == "main-tuned":
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 2**31 - 1)
        libc.mallopt(-1, 2**31 - 1)
    elif mode.startswith("shipped"):
        from zssbir_core.cpu_allocator import tune_malloc

        tune_malloc()
    import torch

    from zssbir_core.library import PhotoLibrary
    from zssbir_core.models import ZSSBIRNet, build_backbone, load_model
    from zssbir_core.models.torch_embedder import TorchEmbedder

    if mode.startswith("main"):
        backbone = build_backbone("efficientnet_lite0")
        embedder = TorchEmbedder(net=ZSSBIRNet(backbone, None).eval(), device=torch.device("cpu"),
                                 preprocessing=backbone.preprocessing, model_id="lite0-imagenet", name="lite0-imagenet")
    else:
        embedder = load_model("lite0-imagenet")
        assert (embedder.onnx is not None) == (mode == "shipped-onnx"), "the onnx extra is missing"
    with tempfile.TemporaryDirectory() as directory, PhotoLibrary.open(Path(directory) / "library") as library:
        library.add_folder(folder)
        started = ended = None
        for event in library.index(embedder, batch_size=32):
            if event.phase == "embed" and started is None:
                started = time.perf_counter()
            if event.phase == "sweep":
                ended = time.perf_counter()
        count = library.photo_count()
        time.sleep(5)
        rss = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return {"photos": count, "rate": count / (ended - started), "idle_rss_mb": rss / 2**20,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FOLDER"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return
    runs: dict[str, list[dict]] = {mode: [] for mode in args.modes}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for i, photo in enumerate(sorted(PHOTOS.glob("*/*.jpg"))[: args.photos]):
            (folder / f"{i:05d}.jpg").symlink_to(photo)
        for _ in range(args.repeats):
            loads.append(os.getloadavg()[0])
            for mode in args.modes:
                env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
                env["ZSSBIR_DATA_DIR"] = str(Path(tmp) / "data")
                if mode == "shipped":
                    env["ZSSBIR_RUNTIME"] = "torch"
                result = subprocess.run([sys.executable, __file__, "--child", mode, str(folder)], env=env,
                                        capture_output=True, text=True)
                if result.returncode != 0:
                    print(f"{mode}: failed: {result.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                    continue
                runs[mode].append(json.loads(result.stdout.splitlines()[-1]))
                print(mode, runs[mode][-1], flush=True)
    loads.append(os.getloadavg()[0])
    summary = {mode: {key: statistics.median(r[key] for r in rows) for key in ("rate", "idle_rss_mb", "peak_rss_mb")}
               for mode, rows in runs.items() if rows}
    print("\n| setting | photos/s | x main-tuned | idle RSS MB | idle RSS - main-untuned | peak RSS MB |\n|---|---|---|---|---|---|")
    for mode, row in summary.items():
        tuned = summary.get("main-tuned", {}).get("rate")
        untuned = summary.get("main-untuned", {}).get("idle_rss_mb")
        print(f"| {mode} | {row['rate']:.1f} | {row['rate'] / tuned:.2f} | {row['idle_rss_mb']:.0f} | "
              f"{row['idle_rss_mb'] - untuned:+.0f} | {row['peak_rss_mb']:.0f} |" if tuned and untuned else f"| {mode} | {row} |")
    print(f"\n1-minute load average at each repeat's start and at the end: {loads}")
    if args.json:
        args.json.write_text(json.dumps({"photos": args.photos, "load_averages": loads, "summary": summary,
                                         "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
