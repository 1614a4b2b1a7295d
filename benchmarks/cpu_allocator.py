"""CPU speed with and without ``zssbir_core.cpu_allocator.tune_malloc``.

Each measurement runs in a fresh child process (glibc's settings are per process), alternating
the tuned and untuned setting ``--repeats`` times, and records images/s, user and system CPU
seconds, minor page faults and peak resident memory:

- ``embed``: EfficientNet-Lite0 (ImageNet) embedding random images, 224 px, batches of 32
  (the indexer's default) and 64 (evaluation's default); median of 5 timed batches after one
  warm-up;
- ``train``: ``zssbir-cli train`` with the ``cpu-lite0`` recipe for 12 steps on 10 classes of
  ``sketchy-seen100`` (no validation), teacher soft labels computed afresh; images/s is the
  median of the steps' rates after the first two, and the child's wall time includes the teacher;
- ``soak`` (``--soak``, once per setting): 160 Lite0 batches of mixed sizes (1 to 32 images, 160
  or 224 px, fixed random order), resident memory every 20 batches: whether the kept memory
  settles or keeps growing.

    python benchmarks/cpu_allocator.py --repeats 3
    python benchmarks/cpu_allocator.py --soak --json docs/benchmarks/cpu_allocator_soak.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "sketchy-seen100"


def child_embed(batch: int) -> dict:
    import torch

    from zssbir_core.models import load_model

    embedder = load_model("lite0-imagenet")
    images = torch.randn(batch, 3, 224, 224)
    embedder.embed_tensors(images)
    rates = []
    for _ in range(5):
        start = time.perf_counter()
        embedder.embed_tensors(images)
        rates.append(batch / (time.perf_counter() - start))
    return {"images_per_s": statistics.median(rates)}


def child_soak() -> dict:
    import random

    import torch

    from zssbir_core.models import load_model

    embedder = load_model("lite0-imagenet")
    rng = random.Random(0)
    rss_mib, images, start = [], 0, time.perf_counter()
    for batch in range(1, 161):
        count = rng.choice([32, 32, 32, 7, 19, 1])
        embedder.embed_tensors(torch.randn(count, 3, *[rng.choice([224, 224, 160])] * 2))
        images += count
        if batch % 20 == 0:
            rss_mib.append(int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20)
    return {"images_per_s": images / (time.perf_counter() - start), "rss_mib_every_20_batches": rss_mib}


def child_train(data: Path) -> dict:
    import contextlib
    import io

    from zssbir_core.cli import main

    classes = sorted(p.name for p in (data / "photo").iterdir() if p.is_dir())
    with tempfile.TemporaryDirectory() as work:
        config = Path(work) / "config.json"
        config.write_text(json.dumps({"epochs": 1, "batches_per_epoch": 12, "val_classes": 0, "time_budget_min": None,
                                      "exclude_classes": classes[10:]}))
        os.environ["ZSSBIR_DATA_DIR"] = str(Path(work) / "data")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = main(["train", "--data", str(data), "--output", str(Path(work) / "run"), "--recipe", "cpu-lite0",
                           "--config", str(config), "--device", "cpu", "--progress", "json"])
    if status != 0:
        raise SystemExit(f"train failed with status {status}")
    steps = [json.loads(line) for line in out.getvalue().splitlines() if '"event":"step"' in line]
    return {"images_per_s": statistics.median(s["images_per_s"] for s in steps[2:])}


def run_child(kind: str, arg: str, tuned: bool) -> dict:
    """One measurement in a child process; its resource usage comes from the child's rusage."""
    env = dict(os.environ, ZSSBIR_MALLOC_TUNING="1" if tuned else "0")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, __file__, "--child", kind, arg], env=env, capture_output=True, text=True,
                            check=True)
    wall = time.perf_counter() - start
    return {**json.loads(result.stdout.splitlines()[-1]), "wall_s": round(wall, 1)}


def child_main(kind: str, arg: str) -> None:
    from zssbir_core.cpu_allocator import tune_malloc

    applied = tune_malloc().applied
    before = resource.getrusage(resource.RUSAGE_SELF)
    if kind == "embed":
        row = child_embed(int(arg))
    elif kind == "soak":
        row = child_soak()
    else:
        row = child_train(Path(arg))
    after = resource.getrusage(resource.RUSAGE_SELF)
    row.update(tuned=applied, user_s=round(after.ru_utime - before.ru_utime, 1),
               sys_s=round(after.ru_stime - before.ru_stime, 1), minor_faults=after.ru_minflt - before.ru_minflt,
               peak_rss_mib=round(after.ru_maxrss / 1024))
    print(json.dumps(row))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=REPO / "docs" / "benchmarks" / "cpu_allocator.json")
    parser.add_argument("--soak", action="store_true", help="run only the soak case, once per setting")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(*args.child)
        return 0
    cases = [("embed", "32"), ("embed", "64")]
    if args.soak:
        cases, args.repeats = [("soak", "-")], 1
    elif (args.data / "photo").is_dir():
        cases.append(("train", str(args.data)))
    else:
        print(f"no data at {args.data}: skipping the training case", file=sys.stderr)
    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} logical cores, {platform.libc_ver()}",
                     "load_at_start": round(os.getloadavg()[0], 2), "cases": {}}
    for kind, arg in cases:
        name = f"embed-batch-{arg}" if kind == "embed" else kind
        runs: dict[str, list[dict]] = {"untuned": [], "tuned": []}
        for _ in range(args.repeats):
            for tuned in (False, True):
                runs["tuned" if tuned else "untuned"].append(run_child(kind, arg, tuned))
        medians = {key: statistics.median(r["images_per_s"] for r in rows) for key, rows in runs.items()}
        results["cases"][name] = {"runs": runs, "median_images_per_s": medians,
                                  "speed_ratio": round(medians["tuned"] / medians["untuned"], 2)}
        print(name, json.dumps(results["cases"][name]["median_images_per_s"]),
              "ratio", results["cases"][name]["speed_ratio"], flush=True)
    results["load_at_end"] = round(os.getloadavg()[0], 2)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
