"""Soak test of one library under concurrent use: searches, re-indexing and folder edits at once.

Three processes share one library for ``--duration`` seconds (default 10 minutes):

- a searcher opens the library afresh for every query (as ``zssbir-cli search`` does), searches a
  real sketch for every photo (k = all) and checks each answer: no error, no photo twice;
- an indexer re-indexes in a loop (``PhotoLibrary.index``, as ``zssbir-cli index`` does), each
  run in a freshly opened library;
- an editor changes the watched folders in a loop: copies new photos in, deletes some, moves some
  to another folder, renames folders, touches files.

Options: ``--index exact`` runs every process with the exact (numpy) index instead of hnswlib;
``--app-indexer`` makes the indexer the app's own (``zssbir_desktop.engine.Engine`` on a Qt event
loop, offscreen); ``--read-only-searcher`` adds a searcher that sees the library folder through a
read-only bind mount (an ``unshare -rm`` child: real EROFS, while the others keep writing to it).

At the end a last indexing run settles the library and the database is compared with the disk:
``lost`` counts photos on disk that the library does not have, ``doubled`` photos present twice
(same path twice, or the same file content id twice in the index), ``stale`` rows whose file is
gone. Every process reports its errors (first few kept verbatim). A healthy library reports 0
errors, 0 lost, 0 doubled, 0 stale. Real Sketchy photos and sketches, the real Lite0 model at a
small input size, CPU only. Example (the full 10 minutes)::

    nice -n 19 python benchmarks/library_soak.py --duration 600 --output soak.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "sketchy-seen100"
MODEL, IMAGE_SIZE = "lite0-imagenet", 64


def _embedder():
    from zssbir_core.models.registry import load_model

    return load_model(MODEL, device="cpu", image_size=IMAGE_SIZE)


def _report(kind: str, counts: dict, errors: list[str], queue) -> None:
    queue.put({"role": kind, **counts, "errors": len(errors), "first_errors": errors[:5]})


def searcher(library_dir: str, sketch: str, deadline: float, queue) -> None:
    import torch

    torch.set_num_threads(1)
    from zssbir_core.library import PhotoLibrary
    from zssbir_core.search import SketchSearcher

    embedder = _embedder()
    counts = {"searches": 0, "answers_with_a_photo_twice": 0, "empty_answers": 0}
    errors: list[str] = []
    while time.time() < deadline:
        try:
            with PhotoLibrary.open(library_dir, create=False) as library:
                results = SketchSearcher(library, embedder).search(sketch, k=100_000)
            ids = [r.id for r in results]
            paths = [str(r.path) for r in results]
            if len(set(ids)) != len(ids) or len(set(paths)) != len(paths):
                counts["answers_with_a_photo_twice"] += 1
            if not results:
                counts["empty_answers"] += 1
            counts["searches"] += 1
        except Exception:  # noqa: BLE001 - counted and reported
            errors.append(traceback.format_exc(limit=3))
    _report("searcher", counts, errors, queue)


def indexer(library_dir: str, deadline: float, queue) -> None:
    import torch

    torch.set_num_threads(1)
    from zssbir_core.library import PhotoLibrary

    embedder = _embedder()
    counts = {"index_runs": 0}
    errors: list[str] = []
    while time.time() < deadline:
        try:
            with PhotoLibrary.open(library_dir, create=False) as library:
                events = list(library.index(embedder, batch_size=8, workers=1))
            if events[-1].phase != "done":
                errors.append(f"run ended in phase {events[-1].phase}")
            counts["index_runs"] += 1
        except Exception:  # noqa: BLE001 - counted and reported
            errors.append(traceback.format_exc(limit=3))
    _report("indexer", counts, errors, queue)


def app_indexer(library_dir: str, deadline: float, queue) -> None:
    """The indexer of the app: ``Engine.start_indexing`` on a Qt event loop, run after run."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import torch
    from PySide6.QtCore import QCoreApplication, QEventLoop

    torch.set_num_threads(1)
    from zssbir_desktop.engine import Engine

    app = QCoreApplication.instance() or QCoreApplication([])
    engine = Engine()
    engine.open_library(Path(library_dir))
    engine.set_embedder(_embedder())
    outcome: list[str] = []
    engine.indexing_finished.connect(lambda cancelled: outcome.append("cancelled" if cancelled else "done"))
    engine.indexing_failed.connect(lambda error: outcome.append(f"{type(error).__name__}: {error}"))
    counts = {"index_runs": 0}
    errors: list[str] = []
    while time.time() < deadline:
        outcome.clear()
        if not engine.start_indexing():
            errors.append("the app refused to start indexing")
            break
        while not outcome:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 100)
            time.sleep(0.01)
        if outcome[0] == "done":
            counts["index_runs"] += 1
        else:
            errors.append(outcome[0])
    engine.shutdown()
    _report("app_indexer", counts, errors, queue)


class _PrintQueue:
    """Where a searcher in another process tree (the read-only one) puts its report: stdout."""

    def put(self, report: dict) -> None:
        print(json.dumps(report), flush=True)


def read_only_searcher(library_dir: Path, sketch: str, deadline: float) -> tuple[object, str]:
    """Start a searcher that sees ``library_dir`` through a read-only bind mount; (process, why not)."""
    import subprocess

    if shutil.which("unshare") is None:
        return None, "unshare is not installed"
    command = (f"mount --bind -o ro {library_dir} {library_dir} && exec {sys.executable} {__file__} "
               f"--role read-only-searcher --work {library_dir} --sketch {sketch} --deadline {deadline}")
    process = subprocess.Popen(["unshare", "-rm", "sh", "-c", command], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    return process, ""


def editor(photos_dir: str, pool: list[str], deadline: float, seed: int, queue) -> None:
    rng = random.Random(seed)
    root = Path(photos_dir)
    counts = {"copies": 0, "deletes": 0, "moves": 0, "folder_renames": 0, "touches": 0}
    errors: list[str] = []
    serial = 0
    while time.time() < deadline:
        try:
            folders = sorted(p for p in root.iterdir() if p.is_dir())
            files = sorted(root.rglob("*.jpg"))
            action = rng.choice(["copy", "copy", "delete", "move", "touch", "rename"])
            serial += 1
            if action == "copy" or not files:
                shutil.copy(rng.choice(pool), rng.choice(folders) / f"new-{seed}-{serial}.jpg")
                counts["copies"] += 1
            elif action == "delete" and len(files) > 20:
                rng.choice(files).unlink()
                counts["deletes"] += 1
            elif action == "move":
                source = rng.choice(files)
                os.replace(source, rng.choice(folders) / f"moved-{serial}-{source.name}")
                counts["moves"] += 1
            elif action == "touch":
                os.utime(rng.choice(files))
                counts["touches"] += 1
            elif action == "rename":
                folder = rng.choice(folders)
                os.replace(folder, folder.with_name(f"{folder.name.split('~')[0]}~{serial}"))
                counts["folder_renames"] += 1
        except Exception:  # noqa: BLE001 - counted and reported
            errors.append(traceback.format_exc(limit=3))
        time.sleep(rng.uniform(0.05, 0.3))
    _report("editor", counts, errors, queue)


def settle_and_compare(library_dir: Path, photos_dir: Path) -> dict:
    """One last run, then the database against the disk."""
    from zssbir_core.library import PhotoLibrary

    embedder = _embedder()
    with PhotoLibrary.open(library_dir, create=False) as library:
        list(library.index(embedder, batch_size=16))
        on_disk = {str(p) for p in photos_dir.rglob("*.jpg")}
        index_ids = library.vector_index().ids()
        stored = [str(library.photo(i).path) for i in index_ids]
        rows = library.photo_count()
        return {
            "photos_on_disk": len(on_disk),
            "photos_in_library": rows,
            "lost": len(on_disk - set(stored)),
            "doubled": (len(stored) - len(set(stored))) + max(0, rows - len(index_ids)),
            "stale": len(set(stored) - on_disk),
            "skipped": len(library.skipped()),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of concurrent use (default 600)")
    parser.add_argument("--photos", type=int, default=120, help="photos in the watched folders at the start")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="sketchy-seen100 folder")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one, removed)")
    parser.add_argument("--output", type=Path, help="also write the report here as JSON")
    parser.add_argument("--index", choices=("hnswlib", "exact"), default="hnswlib", help="the vector index to use")
    parser.add_argument("--app-indexer", action="store_true", help="index with the app's Engine on a Qt loop")
    parser.add_argument("--read-only-searcher", action="store_true",
                        help="add a searcher that sees the library through a read-only bind mount")
    parser.add_argument("--role", help=argparse.SUPPRESS)
    parser.add_argument("--sketch", help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "read-only-searcher":
        searcher(str(args.work), args.sketch, args.deadline, _PrintQueue())
        return 0
    os.environ["ZSSBIR_INDEX"] = args.index  # every process, the children included
    if not (args.data / "photo").is_dir():
        parser.error(f"no photos in {args.data}")

    from zssbir_core.library import PhotoLibrary

    work = Path(tempfile.mkdtemp(prefix="zssbir-soak-")) if args.work is None else args.work
    work.mkdir(parents=True, exist_ok=True)
    photos_dir, library_dir = work / "photos", work / "library"
    pool = sorted(str(p) for p in (args.data / "photo").rglob("*.jpg"))
    rng = random.Random(0)
    for index, source in enumerate(rng.sample(pool, args.photos)):
        folder = photos_dir / f"folder{index % 6}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, folder / Path(source).name)
    sketch = str(sorted((args.data / "sketch").rglob("*.png"))[0])
    with PhotoLibrary.open(library_dir) as library:
        library.add_folder(photos_dir)
        list(library.index(_embedder(), batch_size=16))

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    started = time.time()
    deadline = started + args.duration
    roles = [
        context.Process(target=searcher, args=(str(library_dir), sketch, deadline, queue)),
        context.Process(target=searcher, args=(str(library_dir), sketch, deadline, queue)),
        context.Process(target=app_indexer if args.app_indexer else indexer, args=(str(library_dir), deadline, queue)),
        context.Process(target=editor, args=(str(photos_dir), pool, deadline, 1, queue)),
    ]
    for process in roles:
        process.start()
    read_only, not_run = read_only_searcher(library_dir, sketch, deadline) if args.read_only_searcher else (None, "")
    reports = [queue.get(timeout=args.duration + 900) for _ in roles]
    for process in roles:
        process.join()
    crashed = [p.exitcode for p in roles if p.exitcode != 0]
    if read_only is not None:
        out, err = read_only.communicate(timeout=900)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if lines:
            reports.append({**json.loads(lines[-1]), "role": "read_only_searcher"})
        else:
            not_run = f"the read-only searcher reported nothing (rc {read_only.returncode}): {err.strip()[-300:]}"
        if read_only.returncode != 0 and lines:
            crashed.append(read_only.returncode)
    final = settle_and_compare(library_dir, photos_dir)
    totals: dict = {"seconds": round(time.time() - started, 1), "load_average": os.getloadavg(),
                    "crashed_processes": len(crashed), "index": args.index, "app_indexer": args.app_indexer}
    if not_run:
        totals["read_only_searcher"] = f"not run: {not_run}"
    for report in reports:
        for key, value in report.items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    totals["errors"] = sum(r["errors"] for r in reports)
    result = {"totals": totals, "final": final, "processes": reports}
    text = json.dumps(result, indent=1)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    healthy = not crashed and totals["errors"] == 0 and final["lost"] == final["doubled"] == final["stale"] == 0
    healthy = healthy and totals.get("answers_with_a_photo_twice", 0) == 0
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
