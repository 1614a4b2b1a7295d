"""Time and memory of ``retrieval_metrics`` at QuickDraw Extended scale, without a model.

Random L2-normalised embeddings stand in for the network's output (the metric code never looks
at where they came from): a gallery of 54,151 photos in 30 classes (the QuickDraw Extended
zero-shot gallery) and batches of sketch queries. It measures the wall time of a run of
``--queries`` queries and the peak resident memory the run added, then extrapolates the time to
all 92,291 QuickDraw test sketches (time is linear in the number of queries; memory does not grow
with it, since queries are processed ``--chunk-size`` at a time).

    python benchmarks/eval_metrics_scale.py --queries 2048 --repeats 3
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np
import torch

from zssbir_core.evaluation.metrics import retrieval_metrics

QUICKDRAW_PHOTOS = 54_151
QUICKDRAW_SKETCHES = 92_291


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gallery", type=int, default=QUICKDRAW_PHOTOS)
    parser.add_argument("--queries", type=int, default=2048)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--classes", type=int, default=30)
    parser.add_argument("--chunk-size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="where to rank: cpu or cuda")
    parser.add_argument("--check", type=int, default=0,
                        help="also compare with a CPU run on the first N queries (for --device cuda)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)

    def normalised(n: int) -> np.ndarray:
        x = rng.standard_normal((n, args.dim), dtype=np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    gallery, gallery_labels = normalised(args.gallery), rng.integers(0, args.classes, args.gallery)
    queries, query_labels = normalised(args.queries), rng.integers(0, args.classes, args.queries)
    cuda = args.device.startswith("cuda")
    before = peak_rss_mib()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = retrieval_metrics(
            queries, query_labels, gallery, gallery_labels, chunk_size=args.chunk_size, device=args.device
        )
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    added = peak_rss_mib() - before
    if args.check:
        n = args.check
        on_device = retrieval_metrics(queries[:n], query_labels[:n], gallery, gallery_labels, device=args.device)
        on_cpu = retrieval_metrics(queries[:n], query_labels[:n], gallery, gallery_labels, device="cpu")
        worst = max(abs(on_device[k] - on_cpu[k]) for k in on_cpu)
        print(f"{args.device} vs cpu on {n} queries: largest metric difference {worst:.2e}")
    median = statistics.median(times)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    print(f"metrics (random embeddings, so near chance): {result}")
    print(f"gallery {args.gallery} x {args.dim}-d, {args.queries} queries, chunk {args.chunk_size}")
    print(f"runs (s): {', '.join(f'{t:.2f}' for t in times)}; median {median:.2f} s")
    print(f"per 1,000 queries: {median / args.queries * 1000:.2f} s")
    print(f"extrapolated to {QUICKDRAW_SKETCHES:,} queries: {median / args.queries * QUICKDRAW_SKETCHES / 60:.1f} min")
    print(f"peak resident memory added by the runs: {added:.0f} MiB")
    if cuda:
        print(f"peak GPU memory allocated: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
    full = args.queries * args.gallery * 4 / 2**30
    quickdraw_full = QUICKDRAW_SKETCHES * args.gallery * 4 / 2**30
    print(f"(a full float32 similarity matrix: {full:.2f} GiB here, {quickdraw_full:.1f} GiB for QuickDraw)")


if __name__ == "__main__":
    main()
