"""``zssbir-cli eval``: sketch-to-photo retrieval scores of a model on a labelled dataset."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from zssbir_core.cli import numbers

METRICS_HELP = (
    "Every sketch queries all photos, ranked by cosine similarity. mAP@all: mean over sketches of "
    "the standard non-interpolated average precision over the whole gallery (mean of the precision "
    "at each relevant photo's rank). mAP@200: average precision of the top 200 normalised by the "
    "number of relevant photos retrieved there (0 if none), as in the SEM-PCYC and Doodle2Search "
    "code. P@k: fraction of the top k that share the sketch's class. Computed in chunks of queries, "
    "so large benchmarks fit in a few GB."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="score a model: mAP@all, mAP@200, P@100, P@200, P@10 of sketch-to-photo retrieval",
        description=(
            "Evaluate sketch-to-photo retrieval on DATA: a folder with photo/<class>/* and "
            "sketch/<class>/*, or a Sketchy / TU-Berlin / QuickDraw Extended release as unpacked. "
            + METRICS_HELP
        ),
    )
    parser.add_argument("--model", default="default",
                        help="default (the default), a built-in model (zssbir-cli doctor lists them) "
                             "or a checkpoint directory")
    parser.add_argument("--data", required=True, type=Path, help="dataset folder")
    parser.add_argument(
        "--classes",
        metavar="FILE",
        help="evaluate only these classes: a text file (one class a line) or a shipped list, "
        "e.g. sketchy_sake_unseen, sketchy_yelamarthi_unseen, tuberlin_unseen, quickdraw_unseen",
    )
    parser.add_argument(
        "--layout",
        choices=("auto", "folder", "sketchy", "tuberlin", "quickdraw"),
        default="auto",
        help="how DATA is organised (default: detect)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda[:N] or mps")
    parser.add_argument("--batch-size", type=numbers.batch_size, default=64, help="images per forward pass (default 64)")
    parser.add_argument("--image-size", type=numbers.image_size, help="input side in pixels (default: the model's)")
    parser.add_argument("--weights", help="local ImageNet weights file for a built-in model")
    parser.add_argument("--workers", type=numbers.int_between(0, numbers.MAX_WORKERS), default=0,
                        help="image decoding processes (default 0)")
    parser.add_argument(
        "--query-expansion", type=numbers.int_between(0, 1000), default=0, metavar="K",
        help="expand each sketch with its K nearest photos before ranking, as the app's search does "
        "(it uses 5); default 0: the plain protocol of the zero-shot SBIR papers",
    )
    parser.add_argument(
        "--views", action="store_true",
        help="embed each sketch as the app's search does: as drawn and framed to its strokes, the two "
        "vectors averaged; default: the model's own vector of the image, as the papers score it",
    )
    parser.add_argument(
        "--on-problem",
        choices=("skip", "stop"),
        default="skip",
        help="unreadable files or unusable classes: skip them (listed on stderr) or stop",
    )
    parser.add_argument(
        "--no-check", action="store_true", help="do not decode every image before starting"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from zssbir_core.data.benchmarks import detect_benchmark, read_benchmark
    from zssbir_core.data.folder import scan_folder_dataset
    from zssbir_core.data.splits import read_class_list
    from zssbir_core.evaluation.evaluate import evaluate_retrieval
    from zssbir_core.models.registry import load_model
    from zssbir_core.query_expansion import QueryExpansion

    classes = read_class_list(args.classes) if args.classes else None
    layout = detect_benchmark(args.data) if args.layout == "auto" else args.layout
    options = dict(on_problem=args.on_problem, check_images=not args.no_check, classes=classes)
    if layout in (None, "folder"):
        dataset = scan_folder_dataset(args.data, **options)
    else:
        dataset = read_benchmark(layout, args.data, **options)
    for problem in dataset.problems:
        print(f"zssbir-cli eval: skipped {problem}", file=sys.stderr)

    embedder = load_model(args.model, device=args.device, weights=args.weights, image_size=args.image_size)
    started = time.perf_counter()
    # A bar on a terminal only (tqdm's disable=None); --json output stays clean on stdout.
    with tqdm(total=len(dataset.samples), unit="img", desc="embedding", disable=None, file=sys.stderr) as bar:
        metrics = evaluate_retrieval(
            embedder,
            dataset,
            preprocessing=embedder.preprocessing,
            device=embedder.device,
            batch_size=args.batch_size,
            num_workers=args.workers,
            progress=bar.update,
            expansion=QueryExpansion(k=args.query_expansion),
            query_views=args.views,
        )
    seconds = time.perf_counter() - started
    report = {
        "model": embedder.model_id,
        "data": str(dataset.root),
        "layout": layout or "folder",
        "classes": len(dataset.classes),
        "sketches": len(dataset.sketches()),
        "photos": len(dataset.photos()),
        "skipped": len(dataset.problems),
        "query_expansion": args.query_expansion,
        "views": args.views,
        "device": str(embedder.device),
        "seconds": round(seconds, 2),
        "metrics": metrics,
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"{report['model']} on {report['data']} ({report['layout']}): {report['classes']} classes, "
            f"{report['sketches']} sketch queries, {report['photos']} photos; {seconds:.1f} s on {report['device']}"
        )
        for key, label in (("map_all", "mAP@all"), ("map_200", "mAP@200"), ("p_100", "P@100"),
                           ("p_200", "P@200"), ("p_10", "P@10")):
            print(f"  {label:8} {metrics[key]:.4f}")
    return 0
