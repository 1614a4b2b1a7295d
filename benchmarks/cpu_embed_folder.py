"""A folder of photos embedded end to end with Lite0 (process start, decoding, preprocessing and
the network all timed): ``zssbir-cli embed --model lite0-imagenet`` against a plain eager fp32
PyTorch loop over the same files, each a fresh process, alternating, ``--repeats`` times, medians.

- ``naive``: a short script: PIL decode, the model's preprocessing, the network as built, batches
  of 64, ``torch.inference_mode``, glibc untouched;
- ``cli``: ``zssbir-cli embed`` with its defaults (batch 64), PyTorch (``ZSSBIR_RUNTIME=torch``);
- ``cli-onnx``: the same with the onnx extra (ONNX Runtime; its export cache is filled by one
  run before the timed ones, as after a first use).

Embeddings of each variant are compared with the naive ones (1 - cosine, worst file)::

    python benchmarks/cpu_embed_folder.py --photos 400 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PHOTOS = REPO.parent / "shared" / "data" / "sketchy-seen100" / "photo"
VARIANTS = ("naive", "cli", "cli-onnx")

NAIVE = """
import sys
from pathlib import Path
import numpy as np, torch
from PIL import Image
from zssbir_core.models import ZSSBIRNet, build_backbone
from zssbir_core.cli.embed_cmd import collect_image_paths
backbone = build_backbone("efficientnet_lite0")
net = ZSSBIRNet(backbone, embedding_dim=None).eval()
transform = backbone.preprocessing.transform()
files, _ = collect_image_paths([Path(sys.argv[1])])
chunks = []
with torch.inference_mode():
    for start in range(0, len(files), 64):
        batch = torch.stack([torch.from_numpy(transform(Image.open(f).convert("RGB"))) for f in files[start:start + 64]])
        chunks.append(net.encode(batch).numpy())
np.savez(sys.argv[2], paths=np.array([str(f) for f in files]), embeddings=np.concatenate(chunks))
"""


def run(variant: str, folder: Path, output: Path, data_dir: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    env["ZSSBIR_DATA_DIR"] = str(data_dir)
    if variant == "naive":
        command = [sys.executable, "-c", NAIVE, str(folder), str(output)]
    else:
        command = [sys.executable, "-m", "zssbir_core", "embed", "--model", "lite0-imagenet", "--output",
                   str(output), str(folder)]
        if variant == "cli":
            env["ZSSBIR_RUNTIME"] = "torch"
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    seconds: dict[str, list[float]] = {v: [] for v in args.variants}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for i, photo in enumerate(sorted(PHOTOS.glob("*/*.jpg"))[:: 2][: args.photos]):
            (folder / f"{i:05d}.jpg").symlink_to(photo)
        if "cli-onnx" in args.variants:  # the one-time export, as on a first use
            run("cli-onnx", folder, Path(tmp) / "warm.npz", Path(tmp) / "data")
        for _ in range(args.repeats):
            loads.append(os.getloadavg()[0])
            for variant in args.variants:
                seconds[variant].append(run(variant, folder, Path(tmp) / f"{variant}.npz", Path(tmp) / "data"))
                print(f"{variant}: {args.photos / seconds[variant][-1]:.1f} images/s", flush=True)
        reference = np.load(Path(tmp) / "naive.npz") if "naive" in args.variants else None
        drift = {}
        for variant in args.variants:
            data = np.load(Path(tmp) / f"{variant}.npz")
            if reference is not None:
                assert list(data["paths"]) == list(reference["paths"])
                a, b = reference["embeddings"], data["embeddings"]
                drift[variant] = float(1 - ((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min())
    loads.append(os.getloadavg()[0])
    rates = {v: args.photos / statistics.median(s) for v, s in seconds.items()}
    print("\n| variant | images/s (median) | x naive | 1-cos vs naive |\n|---|---|---|---|")
    for variant, rate in rates.items():
        ratio = f"{rate / rates['naive']:.2f}" if "naive" in rates else ""
        print(f"| {variant} | {rate:.1f} | {ratio} | {drift.get(variant, float('nan')):.1e} |")
    print(f"\n1-minute load average at each repeat's start and at the end: {loads}")
    if args.json:
        args.json.write_text(json.dumps({"photos": args.photos, "load_averages": loads, "seconds": seconds,
                                         "images_per_s": rates, "one_minus_cosine": drift}, indent=1) + "\n")


if __name__ == "__main__":
    main()
