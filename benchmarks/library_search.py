"""Sketch query latency, hnswlib recall@10, index build time, memory and disk per photo at 100k photos.

A library of ``--count`` photos is filled with synthetic vectors (no image files: only the index
part is synthetic) through the library's own store, and its index is built with the parameters
the library uses (``HnswParams()``). Then:

- recall@10 of the index against exact search over the same vectors, for each ``--ef`` value;
- warm query latency: a sketch *file* to ranked paths through ``SketchSearcher`` as the app
  searches (decode, preprocessing, network, then query expansion's two index lookups and the SQLite
  reads), median and 95th percentile, with the network part and the index+database part timed
  separately;
- index memory (RSS growth when the saved index is loaded) and bytes on disk per photo.

Vectors (``--data``): ``interpolated`` (the default) puts each photo on the segment between a
real photo embedding and one of its 10 nearest real neighbours (``--prototypes`` real Sketchy
photos embedded by the model), plus a little noise: new photos like the real ones, with the low
local dimension of real collections. ``fitted`` draws photos from a Gaussian with the mean and principal
directions of real photo embeddings (``--prototypes`` real Sketchy photos embedded by the
model), plus a little isotropic noise: every principal direction at once, a high intrinsic
dimension and a pessimistic case; ``clusters`` makes noisy copies of each real embedding
(cosine about 0.8 to it), hundreds of near-ties per cluster: a pessimistic case for any graph
index. The queries are real sketch embeddings. ``resnet50`` is built with ``pretrained=False``
(its ImageNet weights cannot be downloaded here; timing does not depend on them), so its real
embeddings are those of a randomly initialised network. Example::

    python benchmarks/library_search.py --backbone efficientnet_lite0 --count 100000 \
        --output docs/benchmarks/library_search_lite0.json
    python benchmarks/library_search.py --model default --count 100000   # the shipped model
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from library_indexing import DEFAULT_SOURCE, embedder_for  # a sibling benchmark (this script's folder)

from zssbir_core.imageio import open_image
from zssbir_core.library import PhotoLibrary
from zssbir_core.library.store import NewEmbedding
from zssbir_core.models import load_model
from zssbir_core.search import SketchSearcher

SKETCHES = DEFAULT_SOURCE.parent / "sketch"


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def real_embeddings(embedder, photos: int, queries: int, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of ``photos`` real Sketchy photos and ``queries`` real sketches (cached)."""
    if cache.exists():
        saved = np.load(cache)
        if len(saved["photos"]) == photos and len(saved["queries"]) == queries:
            return saved["photos"], saved["queries"]
    size = embedder.preprocessing.image_size

    def embed(paths: list[Path]) -> np.ndarray:
        return np.concatenate([
            embedder.embed_images([open_image(p, target_size=size) for p in paths[i : i + 32]])
            for i in range(0, len(paths), 32)
        ])

    photo_paths = sorted(DEFAULT_SOURCE.glob("*/*.jpg"))
    sketch_paths = sorted(SKETCHES.glob("*/*.png"))
    result = (embed(photo_paths[:: max(1, len(photo_paths) // photos)][:photos]),
              embed(sketch_paths[:: max(1, len(sketch_paths) // queries)][:queries]))
    np.savez(cache, photos=result[0], queries=result[1])
    return result


def synthetic_vectors(
    embedder, count: int, queries: int, prototypes: int, data: str, seed: int, cache: Path,
    query_source: str = "sketches",
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` photo vectors and the query vectors (see the module docstring for ``data``)."""
    rng = np.random.default_rng(seed)
    dim = embedder.embedding_dim
    centres, query_vectors = real_embeddings(embedder, prototypes, queries, cache)
    if data == "fitted":
        # A Gaussian with the mean and the top principal directions of the real photo embeddings.
        mean = centres.mean(axis=0)
        _, singular, directions = np.linalg.svd(centres - mean, full_matrices=False)
        scales = singular / np.sqrt(len(centres))
        latent = rng.normal(size=(count, len(scales))) * scales
        noise = rng.normal(0, 0.1 * float(scales[-2]), (count, dim))
        vectors = normalise(mean + latent @ directions + noise)[:count]
        if query_source == "photos":  # held-out draws from the same distribution
            held_out = rng.normal(size=(queries, len(scales))) * scales
            noise = rng.normal(0, 0.1 * float(scales[-2]), (queries, dim))
            query_vectors = normalise(mean + held_out @ directions + noise)
    elif data == "interpolated":
        # Points between each real photo and one of its 10 nearest real neighbours: new photos
        # that look like the real ones, with the low local dimension of real collections.
        neighbours = np.argsort(-(centres @ centres.T), axis=1)[:, 1:11]
        total = count + (queries if query_source == "photos" else 0)
        first = rng.integers(0, len(centres), total)
        second = neighbours[first, rng.integers(0, 10, total)]
        alpha = rng.uniform(0, 1, (total, 1)).astype(np.float32)
        mixed = alpha * centres[first] + (1 - alpha) * centres[second]
        vectors = normalise(mixed + rng.normal(0, 0.02 / np.sqrt(dim), (total, dim)))
        if query_source == "photos":
            query_vectors = vectors[count:]
    else:  # "clusters": noisy copies of each prototype, cosine about 0.8 to it (near-ties: the hard case)
        picks = rng.integers(0, len(centres), count)
        vectors = normalise(centres[picks] + rng.normal(0, 0.75 / np.sqrt(dim), (count, dim)))
    return vectors[:count], query_vectors


def stored_vectors(library: PhotoLibrary, model_id: str, shape: tuple[int, int]) -> np.ndarray:
    """The vectors a filled library holds, row ``i`` for photo id ``i + 1``."""
    vectors = np.empty(shape, dtype=np.float32)
    for ids, chunk in library.store.iter_vectors(model_id, shape[1]):
        vectors[np.asarray(ids) - 1] = chunk
    return vectors


def fill_library(library: PhotoLibrary, model_id: str, vectors: np.ndarray) -> float:
    """Write synthetic photos with ``vectors`` to the store, then time the index build."""
    store = library.store
    store.set_meta("embedding_dim", str(vectors.shape[1]))
    store.switch_model(model_id)
    for start in range(0, len(vectors), 5000):
        store.write_embeddings(model_id, [
            NewEmbedding(f"/synthetic/{i // 1000:03d}/IMG_{i:06d}.jpg", 1, 0, 4000, 3000, f"{i:024x}", vectors[i])
            for i in range(start, min(start + 5000, len(vectors)))
        ])
    started = time.perf_counter()
    library.rebuild_index()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--backbone", choices=("efficientnet_lite0", "efficientnet_lite1", "resnet50"),
                        help="an ImageNet backbone as it is built in (ResNet50 randomly initialised)")
    source.add_argument("--model", help="a model as load_model loads it (default, a built-in id, a checkpoint)")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200, help="queries for recall")
    parser.add_argument("--prototypes", type=int, default=2500, help="real photos (or random prototypes) used")
    parser.add_argument("--data", choices=("interpolated", "fitted", "clusters"), default="interpolated")
    parser.add_argument("--query-source", choices=("sketches", "photos"), default="sketches",
                        help="recall queries: real sketch embeddings, or held-out photo-like draws (fitted data)")
    parser.add_argument("--ef", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--latency-queries", type=int, default=40)
    parser.add_argument("--threads", type=int, help="torch threads for the latency queries (default: torch's)")
    parser.add_argument("--library", type=Path,
                        help="library folder; reused when it already holds --count vectors of the model")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if args.threads:  # before the model loads: an ONNX Runtime session takes torch's thread count
        torch.set_num_threads(args.threads)

    embedder = load_model(args.model) if args.model else embedder_for(args.backbone, "cpu")
    directory = args.library or Path(tempfile.mkdtemp(prefix="zssbir-search-bench-"))
    vectors, queries = synthetic_vectors(embedder, args.count, args.queries, args.prototypes, args.data, seed=1,
                                         cache=directory.with_name(f"{directory.name}-real-vectors.npz"),
                                         query_source=args.query_source)
    report = {"backbone": args.backbone or args.model, "model_id": embedder.model_id, "count": args.count, "data": args.data,
              "query_source": args.query_source,
              "dim": int(vectors.shape[1])}
    with PhotoLibrary.open(directory) as library:
        report["params"] = vars(library.params)
        if library.model_id == embedder.model_id and library.store.vector_count(embedder.model_id) == args.count:
            # Recall is measured against what the library holds: the synthetic vectors of an earlier
            # run (a randomly initialised ResNet50 embeds the prototypes differently in each process).
            vectors = stored_vectors(library, embedder.model_id, vectors.shape)
            print(f"reusing the {args.count} vectors and the index in {directory}", flush=True)
        else:
            report["build_seconds"] = fill_library(library, embedder.model_id, vectors)
            print(f"built {args.count} x {vectors.shape[1]} in {report['build_seconds']:.0f} s", flush=True)

    before = rss_bytes()
    with PhotoLibrary.open(directory) as library:
        index = library.vector_index()
        report["index_rss_bytes_per_photo"] = (rss_bytes() - before) / args.count
        usage = library.disk_usage()
        report["disk_bytes_per_photo"] = {k: v / args.count for k, v in usage.items()}

        scores = queries @ vectors.T
        exact = np.argsort(-scores, axis=1)[:, :10] + 1  # photo ids start at 1
        tenth = np.sort(scores, axis=1)[:, -10]
        report["recall_at_10"] = {}
        for ef in args.ef:
            index.set_ef_search(ef)
            found = [[i for i, _ in index.search(q, 10)] for q in queries]
            recall = float(np.mean([len(set(f) & set(e.tolist())) / 10 for f, e in zip(found, exact)]))
            # Ties: a result scoring as high as the exact 10th (within float32 rounding) is as good.
            tied = float(np.mean([
                np.mean([scores[row, i - 1] >= tenth[row] - 1e-6 for i in f]) for row, f in enumerate(found)
            ]))
            started = time.perf_counter()
            for q in queries:
                index.search(q, 20)
            per_query = (time.perf_counter() - started) / len(queries)
            report["recall_at_10"][str(ef)] = {"recall": recall, "recall_ties_counted": tied,
                                               "index_ms": 1000 * per_query}
            print(f"ef={ef}: recall@10 {recall:.4f} ({tied:.4f} counting ties), "
                  f"index search {1000 * per_query:.2f} ms", flush=True)
        index.set_ef_search(library.params.ef_search)

        report["latency_runtime"] = embedder.runtime
        report["latency_torch_threads"] = torch.get_num_threads()
        searcher = SketchSearcher(library, embedder)
        sketches = sorted(SKETCHES.glob("*/*.png"))[::300][:20]
        for sketch in sketches[: min(5, args.latency_queries)]:  # warm-up
            searcher.search(sketch, 20)
        total, network, lookup = [], [], []
        for i in range(args.latency_queries):
            sketch = sketches[i % len(sketches)]
            started = time.perf_counter()
            vector = searcher.embed(sketch)
            embedded = time.perf_counter()
            results = searcher.search_vector(vector, 20)  # as the app searches: query expansion on
            ended = time.perf_counter()
            assert len(results) == 20
            total.append(ended - started)
            network.append(embedded - started)
            lookup.append(ended - embedded)
        report["latency_ms"] = {} if not total else {
            name: {"median": 1000 * float(np.median(values)), "p95": 1000 * float(np.percentile(values, 95))}
            for name, values in (("sketch_file_to_paths", total), ("decode_and_network", network),
                                 ("index_and_database", lookup))
        }
        print(json.dumps(report["latency_ms"]), flush=True)
    report["rss_bytes_end"] = rss_bytes()
    if args.output:
        args.output.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
