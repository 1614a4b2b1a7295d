"""One indexing run: scan, embed what is new or changed, sweep what is gone, save the index.

Mark and sweep over (path, size, mtime): every file on disk is compared with the database; new
and changed files are decoded by a small thread pool while the network embeds the previous
batch; every batch is one database transaction (photos + vectors), so a run killed at any moment
resumes where it stopped. Files that vanished are removed after the embedding phase; a moved
file (same name, size and mtime at a new path) keeps its row, id and vector. A watched folder
that is missing (an unplugged disk) keeps its photos.

A file that cannot be decoded or embedded, for whatever reason, is recorded as skipped with the
reason (and its size and mtime, so an unchanged file is not tried again) and the run goes on.
While a run has not finished, the library's meta says so (``UNFINISHED_KEY``).

The run is a generator of ``IndexProgress``; a ``threading.Event`` cancels it between batches.
It works on ``LibraryParts`` only; it does not know ``PhotoLibrary``.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from zssbir_core.errors import ImageReadError, LibraryError
from zssbir_core.imageio import load_image
from zssbir_core.library import excludes
from zssbir_core.library.parts import LibraryParts
from zssbir_core.library.records import IndexProgress, SkippedFile
from zssbir_core.library.scanner import FileEntry, FolderScanner
from zssbir_core.library.store import NewEmbedding, StoredPhoto, prefix_bounds
from zssbir_core.library.thumbnails import THUMBNAIL_SIZE, thumbnail_key

if TYPE_CHECKING:
    from zssbir_core.models.registry import Embedder

UNFINISHED_KEY = "index_unfinished"
"""Library meta key set while an indexing run has not finished (cancelled, killed or running)."""

SAVE_INTERVAL_S = 300.0
"""During long runs the index is saved at least this often."""


@dataclass
class _Decoded:
    entry: FileEntry
    tensor: np.ndarray | None
    width: int = 0
    height: int = 0
    thumb_key: str = ""
    reason: str = ""


@dataclass
class _Plan:
    to_embed: list[FileEntry]
    moves: list[tuple[int, str]]
    gone: list[int]
    problems: list[SkippedFile]
    found: int


def _inside(path: str, folders: Sequence[str]) -> bool:
    return any(prefix_bounds(f)[0] < path < prefix_bounds(f)[1] for f in folders)


def run_indexing(
    library: LibraryParts,
    embedder: Embedder,
    *,
    cancel: threading.Event | None = None,
    exclude: Sequence[str] = (),
    batch_size: int = 32,
    workers: int | None = None,
) -> Iterator[IndexProgress]:
    """Index ``library`` with ``embedder``, yielding progress (see ``PhotoLibrary.index``)."""
    if batch_size < 1 or (workers is not None and workers < 1):
        raise LibraryError(f"batch size and workers must be at least 1 (got {batch_size} and {workers})")
    cancel = cancel or threading.Event()
    store = library.store
    library.writer_lock.acquire()
    workers = workers or min(4, os.cpu_count() or 1)
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode")
    skipped = 0
    try:
        store.set_meta(UNFINISHED_KEY, "1")
        target = embedder.model_id
        if store.meta("model_id") is None:
            store.set_meta("embedding_dim", str(embedder.embedding_dim))
            store.switch_model(target)
        active = store.meta("model_id")
        store.drop_vectors_except([active, target])
        index = library.index.current() if target == active else None
        library.index.run_active.set()

        plan_steps = _plan(library, target, exclude)
        plan = None
        for step in plan_steps:
            if isinstance(step, _Plan):
                plan = step
            else:
                yield IndexProgress("scan", step, 0, "", 0.0, None, 0)
        assert plan is not None
        store.move_photos(plan.moves)
        skipped = len(plan.problems)
        total = len(plan.to_embed)
        yield IndexProgress("embed", 0, total, "", 0.0, None, skipped)

        transform = embedder.preprocessing.transform()
        decode_size = max(embedder.preprocessing.image_size, THUMBNAIL_SIZE)

        def decode(entry: FileEntry) -> _Decoded:
            try:
                loaded = load_image(entry.path, target_size=decode_size)
                key = thumbnail_key(entry.path, entry.size, entry.mtime_ns)
                library.thumbnails.write(key, loaded.image)
                return _Decoded(entry, transform(loaded.image), loaded.width, loaded.height, key)
            except ImageReadError as error:
                return _Decoded(entry, None, reason=error.reason)
            except LibraryError:
                raise  # the library itself cannot be written (disk full): stop the run
            except Exception as error:  # noqa: BLE001 - one file must never stop a run
                return _Decoded(entry, None, reason=f"cannot be prepared ({type(error).__name__}: {error})")

        pending: collections.deque[Future[_Decoded]] = collections.deque()
        queue = iter(plan.to_embed)
        prefetch = 2 * batch_size + workers
        done, started, last_save = 0, time.perf_counter(), time.monotonic()
        batch: list[_Decoded] = []
        while not cancel.is_set():
            while len(pending) < prefetch:
                entry = next(queue, None)
                if entry is None:
                    break
                pending.append(executor.submit(decode, entry))
            if not pending and not batch:
                break
            if pending:
                item = pending.popleft().result()
                if item.tensor is None:
                    store.record_skipped([_skip(item.entry, item.reason)])
                    skipped += 1
                    done += 1
                    continue
                batch.append(item)
            if len(batch) < batch_size and pending:
                continue
            if not batch:
                continue
            batch, vectors, failed = _embed(embedder, batch)
            store.record_skipped(failed)
            skipped += len(failed)
            done += len(failed)
            if not batch:
                continue
            ids, generation, stale = store.write_embeddings(
                target,
                [
                    NewEmbedding(b.entry.path, b.entry.size, b.entry.mtime_ns, b.width, b.height, b.thumb_key, v)
                    for b, v in zip(batch, vectors)
                ],
            )
            if index is not None:
                index.add(ids, vectors)
                index.generation = generation
            library.thumbnails.remove(stale)
            done += len(batch)
            elapsed = time.perf_counter() - started
            rate = done / elapsed if elapsed > 0 else 0.0
            eta = (total - done) / rate if rate > 0 else None
            current = batch[-1].entry.path
            batch = []
            if index is not None and time.monotonic() - last_save > SAVE_INTERVAL_S:
                library.index.save()
                last_save = time.monotonic()
            yield IndexProgress("embed", done, total, current, rate, eta, skipped)

        if cancel.is_set():
            for future in pending:
                future.cancel()
            yield IndexProgress("cancelled", done, total, "", 0.0, None, skipped)
            return

        yield IndexProgress("sweep", done, total, "", 0.0, None, skipped)
        if plan.gone:
            generation, thumbs = store.delete_photos(plan.gone)
            if index is not None:
                index.remove(plan.gone)
                index.generation = generation
            library.thumbnails.remove(thumbs)

        yield IndexProgress("save", done, total, "", 0.0, None, skipped)
        if target != active:
            with library.index.guard:
                store.set_meta("embedding_dim", str(embedder.embedding_dim))
                store.switch_model(target)
                library.index.rebuild()
        elif index is not None and index.needs_compaction():
            library.index.rebuild()
        store.set_meta(UNFINISHED_KEY, None)
        yield IndexProgress("done", done, total, "", 0.0, None, skipped)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        try:
            library.index.save()
        finally:
            library.index.run_active.clear()
            library.writer_lock.release()


def _skip(entry: FileEntry, reason: str) -> SkippedFile:
    return SkippedFile(entry.path, reason, entry.size, entry.mtime_ns)


def _embed(embedder: Embedder, batch: list[_Decoded]) -> tuple[list[_Decoded], np.ndarray, list[SkippedFile]]:
    """Embed a batch; if the batch fails, each file alone, skipping the ones that fail."""
    try:
        return batch, embedder.embed_tensors(np.stack([b.tensor for b in batch])), []
    except (RuntimeError, MemoryError, ValueError) as error:
        if len(batch) == 1:
            return [], [], [_skip(batch[0].entry, f"cannot be embedded ({type(error).__name__}: {error})")]
    kept, vectors, failed = [], [], []
    for item in batch:
        one, found, problems = _embed(embedder, [item])
        kept += one
        vectors += list(found)
        failed += problems
    return kept, np.stack(vectors) if vectors else np.empty((0, 0), dtype=np.float32), failed


def _plan(library: LibraryParts, model_id: str, exclude: Sequence[str]) -> Iterator[int | _Plan]:
    """Scan the watched folders; yields counts of files found, then the ``_Plan``."""
    store = library.store
    problems: list[SkippedFile] = []
    watched = store.folder_paths()
    scanner = FolderScanner(
        exclude=[*excludes.parse(store.meta(excludes.META_KEY)), *exclude],
        on_problem=problems.append,
        skip=[str(library.directory)],
        within=watched,
    )
    files: dict[str, FileEntry] = {}
    missing_folders = []
    for folder in watched:
        if not os.path.isdir(folder):
            missing_folders.append(folder)
            problems.append(SkippedFile(folder, "folder not found: its photos are kept until it is back or removed"))
            continue
        for entry in scanner.scan(folder):
            files[entry.path] = entry
            if len(files) % 1000 == 0:
                yield len(files)

    stored = store.stored_photos(model_id)
    unseen: dict[tuple[str, int, int], list[StoredPhoto]] = collections.defaultdict(list)
    for path, (photo, _) in stored.items():
        if path not in files:
            unseen[(os.path.basename(path), photo.size, photo.mtime_ns)].append(photo)

    skipped_before = store.skipped_stats()
    to_embed, moves = [], []
    for path, entry in files.items():
        known = stored.get(path)
        if known is not None and (known[0].size, known[0].mtime_ns) == (entry.size, entry.mtime_ns) and known[1]:
            continue
        if known is None:
            twins = unseen.get((os.path.basename(path), entry.size, entry.mtime_ns))
            if twins:
                photo = twins.pop()
                moves.append((photo.id, path))
                if stored[photo.path][1]:
                    continue
        if skipped_before.get(path) == (entry.size, entry.mtime_ns):
            continue  # failed before and unchanged since: keep the old reason, do not retry
        to_embed.append(entry)

    moved_ids = {photo_id for photo_id, _ in moves}
    gone = [
        photo.id
        for twins in unseen.values()
        for photo in twins
        if photo.id not in moved_ids and not _inside(photo.path, missing_folders)
    ]

    keep_skipped = {path for path, stat in skipped_before.items()
                    if path in files and stat == (files[path].size, files[path].mtime_ns)}
    store.forget_skipped([path for path in skipped_before if path not in keep_skipped])
    store.record_skipped(problems)
    yield _Plan(to_embed, moves, gone, problems, len(files))
