"""The default install (ONNX Runtime, torch unimportable) against the PyTorch path, with the default
model, on real Sketchy photos: issue 17's speed and memory targets.

Each measurement is a fresh child process; the two runtimes alternate, ``--repeats`` times, medians.

- ``embed``: ``zssbir-cli embed --model default`` over ``--photos`` photos, timed from spawning the
  process to its exit (interpreter start, imports, model load, decoding, preprocessing, network);
- ``index``: what the app does, in one process: ``tune_malloc``, ``load_model("default")``, a new
  library that indexes the photos; then 5 s idle (the app at rest with its model and library open)
  and the resident memory, the peak, and whether torch was ever imported.

``onnx`` runs with ``tests/without_torch`` first on ``PYTHONPATH`` (its ``sitecustomize`` makes
``import torch`` fail, as in the default install); ``torch`` sets ``ZSSBIR_RUNTIME=torch``, the
path of record before the runtime split. The vectors of the two are compared (worst cosine)::

    python benchmarks/slim_runtime.py --photos 1000 --repeats 3 --json docs/benchmarks/slim_runtime.json
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
BLOCKER = REPO / "tests" / "without_torch"
RUNTIMES = ("torch", "onnx")

INDEX_CHILD = """
import json, os, resource, sys, tempfile, time
from pathlib import Path
from zssbir_core.cpu_allocator import tune_malloc
tune_malloc()
from zssbir_core.library import PhotoLibrary
from zssbir_core.models import load_model
embedder = load_model("default")
with tempfile.TemporaryDirectory() as directory, PhotoLibrary.open(Path(directory) / "library") as library:
    library.add_folder(Path(sys.argv[1]))
    started = time.perf_counter()
    for _event in library.index(embedder):
        pass
    seconds = time.perf_counter() - started
    count = library.photo_count()
    time.sleep(5)
    rss = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
print(json.dumps({"photos": count, "index_s": seconds, "idle_rss_mb": rss / 2**20,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "runtime": embedder.runtime, "torch_imported": "torch" in sys.modules}))
"""


def environment(runtime: str, data_dir: Path) -> dict[str, str]:
    """The child's environment: no malloc variables of ours, its own data folder, the runtime."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES", "ZSSBIR_RUNTIME"))}
    env["ZSSBIR_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BLOCKER) if runtime == "onnx" else "", str(REPO)]))
    if runtime == "torch":
        env["ZSSBIR_RUNTIME"] = "torch"
    return env


def embed(runtime: str, folder: Path, output: Path, data_dir: Path) -> float:
    """Seconds for ``zssbir-cli embed`` of ``folder`` in a fresh process."""
    command = [sys.executable, "-m", "zssbir_core", "embed", "--model", "default", "--output", str(output), str(folder)]
    started = time.perf_counter()
    subprocess.run(command, env=environment(runtime, data_dir), check=True, capture_output=True)
    return time.perf_counter() - started


def index(runtime: str, folder: Path, data_dir: Path) -> dict:
    """The app's indexing and idle memory, in a fresh process."""
    done = subprocess.run([sys.executable, "-c", INDEX_CHILD, str(folder)], env=environment(runtime, data_dir),
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def worst_cosine(first: Path, second: Path) -> float:
    """The smallest cosine between the two files' vectors of the same photo."""
    a, b = np.load(first), np.load(second)
    order = {path: i for i, path in enumerate(b["paths"])}
    other = b["embeddings"][[order[path] for path in a["paths"]]]
    return float(np.min(np.sum(a["embeddings"] * other, axis=1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    files = sorted(PHOTOS.glob("*/*.jpg"))[: args.photos]
    load_before = os.getloadavg()[0]
    results: dict[str, dict[str, list]] = {runtime: {"embed_s": [], "index": []} for runtime in RUNTIMES}
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "photos"
        folder.mkdir()
        for i, file in enumerate(files):
            (folder / f"{i:05d}-{file.name}").symlink_to(file)
        outputs = {runtime: Path(work) / f"{runtime}.npz" for runtime in RUNTIMES}
        for runtime in RUNTIMES:  # one warm-up each: page cache, and nothing else is cached between runs
            embed(runtime, folder, outputs[runtime], Path(work) / f"data-{runtime}")
        for _ in range(args.repeats):
            for runtime in RUNTIMES:
                results[runtime]["embed_s"].append(embed(runtime, folder, outputs[runtime], Path(work) / f"data-{runtime}"))
                results[runtime]["index"].append(index(runtime, folder, Path(work) / f"data-{runtime}"))
        cosine = worst_cosine(outputs["torch"], outputs["onnx"])
    summary: dict[str, object] = {"photos": len(files), "repeats": args.repeats, "worst_cosine": cosine,
                                  "load_before": load_before, "load_after": os.getloadavg()[0], "runs": results}
    for runtime in RUNTIMES:
        runs = results[runtime]["index"]
        summary[runtime] = {
            "embed_s_median": statistics.median(results[runtime]["embed_s"]),
            "embed_photos_per_s": len(files) / statistics.median(results[runtime]["embed_s"]),
            "index_s_median": statistics.median(run["index_s"] for run in runs),
            "idle_rss_mb_median": statistics.median(run["idle_rss_mb"] for run in runs),
            "peak_rss_mb_median": statistics.median(run["peak_rss_mb"] for run in runs),
            "runtime": runs[0]["runtime"], "torch_imported": runs[0]["torch_imported"],
        }
    summary["embed_speedup"] = summary["torch"]["embed_s_median"] / summary["onnx"]["embed_s_median"]
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
