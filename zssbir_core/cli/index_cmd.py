"""``zssbir-cli index``: watch folders and bring the library's index up to date.

``--add PATH`` watches folders and indexes them, a bare run re-scans the watched folders,
``--remove PATH`` stops watching a folder and drops its photos. Ctrl-C or SIGTERM stops after the
current batch, keeping everything indexed so far (the next run resumes), and exits 130.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from zssbir_core.cli import numbers


def add_library_arguments(parser: argparse.ArgumentParser) -> None:
    """--library, shared by index, search and library."""
    parser.add_argument("--library", type=Path, help="library folder (default: your user library)")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model, --weights, --device, --image-size, shared by index and search."""
    parser.add_argument(
        "--model",
        help="default, a built-in model (zssbir-cli doctor lists them) or a trained checkpoint folder "
        "(default: the library's model, or the default model for a new library)",
    )
    parser.add_argument("--weights", help="local ImageNet weights file for a built-in model")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda[:N] or mps")
    parser.add_argument("--image-size", type=numbers.image_size, help="input side in pixels (default: the model's)")


def load_library_model(args: argparse.Namespace, library: Any) -> Any:
    """The Embedder named by --model, else the one the library was indexed with, else the default."""
    from zssbir_core.library.model_spec import model_for_library
    from zssbir_core.models.registry import load_model

    chosen = model_for_library(library, args.model, args.image_size)
    return load_model(chosen.spec, device=args.device, weights=args.weights, image_size=chosen.image_size)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "index",
        help="add photo folders to a library and index them (or re-scan the watched ones)",
        description="Index new and changed photos of the watched folders; files gone from disk are dropped.",
    )
    add_library_arguments(parser)
    parser.add_argument("--add", nargs="+", type=Path, default=[], metavar="PATH", help="folders to watch")
    parser.add_argument("--remove", nargs="+", type=Path, default=[], metavar="PATH",
                        help="folders to stop watching (their photos are dropped)")
    parser.add_argument("--exclude", nargs="+", default=[], metavar="PATTERN",
                        help="add patterns to the library's exclude list: a name glob (*.tmp), a path "
                             "relative to a watched folder (2019/drafts/*) or an absolute path; any case")
    parser.add_argument("--remove-exclude", nargs="+", default=[], metavar="PATTERN",
                        help="remove patterns from the library's exclude list")
    add_model_arguments(parser)
    parser.add_argument("--batch-size", type=numbers.batch_size, default=32, help="images per network batch")
    parser.add_argument("--workers", type=numbers.workers, help="decoding threads (default: up to 4)")
    parser.add_argument("--progress", choices=("bar", "json", "none"), default="bar",
                        help="bar: a progress bar on stderr; json: one JSON event a line on stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from zssbir_core.errors import ZssbirError
    from zssbir_core.library import PhotoLibrary
    from zssbir_core.paths import display_path

    with PhotoLibrary.open(args.library) as library:
        for folder in args.remove:
            dropped = library.remove_folder(folder)
            print(f"stopped watching {display_path(folder)}: {dropped} photos dropped", file=sys.stderr)
        for folder in args.add:
            print(f"watching {display_path(library.add_folder(folder))}", file=sys.stderr)
        if args.remove_exclude:
            library.remove_exclude_patterns(args.remove_exclude)
        if args.exclude:
            library.add_exclude_patterns(args.exclude)
        if (args.remove or args.exclude or args.remove_exclude) and not args.add:
            if args.exclude or args.remove_exclude:
                print(f"exclude patterns: {' '.join(library.exclude_patterns()) or '(none)'}; "
                      "run zssbir-cli index to apply them", file=sys.stderr)
            return 0
        if not library.folders():
            raise ZssbirError("the library watches no folder yet: add one with --add PATH")
        embedder = load_library_model(args, library)
        return _index(library, embedder, args)


def _index(library: Any, embedder: Any, args: argparse.Namespace) -> int:
    from zssbir_core.paths import display_path

    cancel = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: cancel.set())
    started = time.perf_counter()
    bar = None
    last = None
    try:
        events = library.index(embedder, cancel=cancel, batch_size=args.batch_size, workers=args.workers)
        while True:
            try:
                last = next(events)
            except StopIteration:
                break
            except KeyboardInterrupt:
                cancel.set()
                continue
            if args.progress == "json":
                print(json.dumps({"phase": last.phase, "done": last.done, "total": last.total,
                                  "current": display_path(last.current), "rate": round(last.rate, 3),
                                  "eta": None if last.eta is None else round(last.eta, 1),
                                  "skipped": last.skipped}), flush=True)
            elif args.progress == "bar" and last.phase == "embed":
                if bar is None:
                    from tqdm import tqdm

                    bar = tqdm(total=last.total, unit="photo", desc="indexing", file=sys.stderr)
                bar.update(last.done - bar.n)
    finally:
        if bar is not None:
            bar.close()
        signal.signal(signal.SIGTERM, previous)
    seconds = time.perf_counter() - started
    if args.progress != "json":
        print(f"{library.photo_count()} photos indexed with {embedder.model_id} "
              f"({last.done if last else 0} new or changed files read, {last.skipped if last else 0} skipped) "
              f"in {seconds:.1f} s",
              file=sys.stderr)
    if last is not None and last.phase == "cancelled":
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
    return 0
