"""``zssbir-cli index``: watch folders and bring the library's index up to date.

``--add PATH`` adds folders to the library and indexes them, a bare run re-scans the library's
folders, ``--remove PATH`` drops a folder and its photos, ``--watch`` keeps indexing changes as
they happen. Ctrl-C or SIGTERM stops after the current batch, keeping everything indexed so far
(the next run resumes), and exits 130; with ``--watch`` between runs, it stops watching and exits 0.
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
    parser.add_argument("--threads", type=numbers.workers, help="image decoding threads (default: up to 4)")
    parser.add_argument("--workers", dest="old_workers", type=numbers.workers, help=argparse.SUPPRESS)
    parser.add_argument("--watch", action="store_true",
                        help="after indexing, keep watching the folders and index new, changed, moved and "
                             "deleted photos within seconds, until Ctrl-C or SIGTERM (exit 0)")
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
        if args.exclude or args.remove_exclude:
            print(f"exclude patterns: {' '.join(library.exclude_patterns()) or '(none)'}", file=sys.stderr)
        if args.remove and not (args.add or args.exclude or args.remove_exclude):
            return 0
        if not library.folders():
            if args.exclude or args.remove_exclude:
                return 0  # nothing indexed yet: the patterns apply from the first run
            raise ZssbirError("the library watches no folder yet: add one with --add PATH")
        if args.old_workers is not None:
            print("note: index --workers is the old name of --threads (decoding threads); "
                  "--workers means processes in embed and eval", file=sys.stderr)
        embedder = load_library_model(args, library)
        remember_model(args.model, embedder)
        if args.watch:
            return watch_folders(library, embedder, args)
        return index_once(library, embedder, args)


def remember_model(spec: str | None, embedder: Any) -> None:
    """A checkpoint folder given with --model joins the trained models (the app's list), so that a
    later search, in the CLI or the app, finds the library's model without --model."""
    from zssbir_core.models.store import ModelStore

    if spec is None or not Path(spec).is_dir():
        return
    store = ModelStore()
    base = embedder.model_id.partition("@")[0]
    if store.find(base) is None and store.find(spec) is None:
        model = store.import_checkpoint(spec, name=Path(spec).resolve().name)
        print(f"added {Path(spec)} to your trained models as {model.name!r} ({model.key})", file=sys.stderr)


def watch_folders(library: Any, embedder: Any, args: argparse.Namespace) -> int:
    """Index, then index again whenever photos change in the watched folders, until Ctrl-C or SIGTERM."""
    from zssbir_core.library.watcher import FolderWatcher

    status = index_once(library, embedder, args)
    if status:
        return status
    changed, stop = threading.Event(), threading.Event()
    folders = [f.path for f in library.folders()]
    watcher = FolderWatcher(folders, changed.set, ignore=[library.directory]).start()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"watching {len(folders)} folder{'s' if len(folders) != 1 else ''} for new, changed, moved and "
          "deleted photos; Ctrl-C stops", file=sys.stderr, flush=True)
    try:
        while not stop.is_set():
            if changed.wait(0.2):
                changed.clear()
                status = index_once(library, embedder, args)
                if status:
                    return status
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
        signal.signal(signal.SIGTERM, previous)
    print("stopped watching", file=sys.stderr)
    return 0


def index_once(library: Any, embedder: Any, args: argparse.Namespace) -> int:
    """One indexing run with a progress bar or JSON events; 130 when interrupted (it resumes)."""
    from zssbir_core.paths import display_path

    cancel = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: cancel.set())
    started = time.perf_counter()
    bar = None
    last = None
    try:
        events = library.index(embedder, cancel=cancel, batch_size=args.batch_size,
                               workers=args.threads or args.old_workers)
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
        skipped = len(library.skipped())
        print(f"{library.photo_count()} photos indexed with {embedder.model_id} "
              f"({last.done if last else 0} new or changed files read, {skipped} file{'s' if skipped != 1 else ''} skipped"
              f"{': zssbir-cli library lists them' if skipped else ''}) in {seconds:.1f} s",
              file=sys.stderr)
    if last is not None and last.phase == "cancelled":
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
    if cancel.is_set():  # Ctrl-C or SIGTERM came as the run ended: stop now (index --watch too)
        raise KeyboardInterrupt
    return 0
