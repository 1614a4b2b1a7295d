"""Load time, speed and memory of an ONNX export with float16-stored weights against its float32 file.

Each measurement is a fresh child process, the two files alternating over ``--repeats``; the table
gives medians. A child creates the app's own ONNX Runtime session (``onnx_embedder.make_session``, CPU),
embeds one warm-up batch and ``--batches`` timed batches of 16 images at the model's input size
(speed does not depend on pixel values), and reports the session's load time, images/s, resident
memory after loading and the peak. Example, for the default model against its float32 file of
before the change::

    git show 937beb2:zssbir_core/models/packaged/sketch-lite1-v3/model.onnx > /tmp/v3-float32.onnx
    python benchmarks/onnx_half_storage.py /tmp/v3-float32.onnx \\
        zssbir_core/models/packaged/sketch-lite1-v3/model.onnx --json docs/benchmarks/onnx_half_storage.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import numpy as np
from zssbir_core.models.onnx_embedder import make_session
from zssbir_core.models.runtime_choice import CPU, RuntimeChoice
path, batches = sys.argv[1], int(sys.argv[2])
model = Path(path).read_bytes()
def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024
before = rss_mb()
start = time.perf_counter()
session = make_session(model, RuntimeChoice("onnxruntime", "cpu", (CPU,)))
load_s = time.perf_counter() - start
loaded = rss_mb() - before
size = session.get_inputs()[0].shape[2]
batch = np.random.default_rng(0).standard_normal((16, 3, size, size)).astype(np.float32)
session.run(None, {"x": batch})
start = time.perf_counter()
for _ in range(batches):
    session.run(None, {"x": batch})
rate = 16 * batches / (time.perf_counter() - start)
print(json.dumps({"load_s": load_s, "images_per_s": rate, "loaded_mb": loaded,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(path: Path, batches: int) -> dict[str, float]:
    """One child's figures for the ONNX file ``path``."""
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(batches)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("float32", type=Path, help="the export with float32 weights")
    parser.add_argument("float16", type=Path, help="the same export with float16-stored weights")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the medians and every run here")
    args = parser.parse_args(argv)
    runs: dict[str, list[dict[str, float]]] = {"float32": [], "float16": []}
    for _ in range(args.repeats):
        for name in runs:
            runs[name].append(measure(getattr(args, name), args.batches))
    medians = {name: {key: statistics.median(run[key] for run in results) for key in results[0]}
               for name, results in runs.items()}
    print(f"{'file':8} {'MB':>6} {'load s':>7} {'images/s':>9} {'loaded MB':>10} {'peak MB':>8}")
    for name, figures in medians.items():
        size = getattr(args, name).stat().st_size / 1e6
        print(f"{name:8} {size:6.1f} {figures['load_s']:7.3f} {figures['images_per_s']:9.1f} "
              f"{figures['loaded_mb']:10.1f} {figures['peak_mb']:8.1f}")
    ratio = medians["float16"]["images_per_s"] / medians["float32"]["images_per_s"]
    print(f"speed float16 / float32: {ratio:.3f}")
    if args.json:
        args.json.write_text(json.dumps({"medians": medians, "speed_ratio": ratio, "runs": runs,
                                         "load_average": os.getloadavg()}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
