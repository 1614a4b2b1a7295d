"""Keep watched folders current: file system events become a few debounced indexing runs.

``FolderWatcher`` listens to the library's folders with watchdog (inotify on Linux, FSEvents on
macOS, ReadDirectoryChangesW on Windows) and calls ``on_change()`` once things settle: ``quiet_s``
after the last photo event, or ``max_wait_s`` after the first one while events keep coming. A whole
camera import (hundreds of files copied over a minute) thus becomes one or a few incremental
indexing runs, each of which finds every new, changed, moved or deleted photo by itself (the
indexer compares the folders with the library); the events only say when to look. ``on_change``
runs on the watcher's own thread, never two at a time; events arriving meanwhile lead to one more
call afterwards. Events outside photos (other files, the library's own folder) are ignored.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from zssbir_core.imageio import is_image_path

QUIET_S = 2.0
"""Seconds without a new photo event before indexing starts."""
MAX_WAIT_S = 20.0
"""Longest delay after the first event while events keep coming (a long import indexes as it goes)."""


class FolderWatcher:
    """Watches ``folders`` (recursively) and calls ``on_change()`` after photo changes settle."""

    def __init__(self, folders: Sequence[str | os.PathLike[str]], on_change: Callable[[], None], *,
                 ignore: Sequence[str | os.PathLike[str]] = (), quiet_s: float = QUIET_S,
                 max_wait_s: float = MAX_WAIT_S) -> None:
        self.on_change = on_change
        self.quiet_s = quiet_s
        self.max_wait_s = max(max_wait_s, quiet_s)
        self._ignore = tuple(os.path.realpath(p) + os.sep for p in ignore)
        self._lock = threading.Condition()
        self._first: float | None = None
        self._last = 0.0
        self._stopping = False
        self._observer = Observer()
        self._handler = _Handler(self._event)
        self._watches: dict[str, object] = {}
        self._thread = threading.Thread(target=self._run, name="zssbir-folder-watcher", daemon=True)
        self.set_folders(folders)

    @property
    def folders(self) -> list[str]:
        return sorted(self._watches)

    def start(self) -> FolderWatcher:
        self._observer.start()
        self._thread.start()
        return self

    def set_folders(self, folders: Sequence[str | os.PathLike[str]]) -> None:
        """Watch exactly ``folders`` from now on (a folder that does not exist is left out)."""
        wanted = {os.fspath(Path(f)) for f in folders if Path(f).is_dir()}
        for folder in set(self._watches) - wanted:
            self._observer.unschedule(self._watches.pop(folder))
        for folder in sorted(wanted - set(self._watches)):
            try:
                self._watches[folder] = self._observer.schedule(self._handler, folder, recursive=True)
            except OSError:  # vanished meanwhile, or no more inotify watches: the next run still scans it
                continue

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop watching; a run of ``on_change`` in progress is waited for (up to ``timeout``)."""
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join(timeout)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _event(self, path: str) -> None:
        if self._ignore and os.path.realpath(path).startswith(self._ignore):
            return
        with self._lock:
            self._last = time.monotonic()
            if self._first is None:
                self._first = self._last
            self._lock.notify_all()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._stopping and (self._first is None or not self._due()):
                    self._lock.wait(self._wait_s())
                if self._stopping:
                    return
                self._first = None
            self.on_change()

    def _due(self) -> bool:
        now = time.monotonic()
        return now - self._last >= self.quiet_s or now - (self._first or now) >= self.max_wait_s

    def _wait_s(self) -> float | None:
        if self._first is None:
            return None
        return max(0.01, min(self._last + self.quiet_s, self._first + self.max_wait_s) - time.monotonic())


class _Handler(FileSystemEventHandler):
    """Passes on the paths of photo events: a photo created, changed, moved or deleted, or a folder
    moved or deleted (its photos went with it)."""

    def __init__(self, notify: Callable[[str], None]) -> None:
        self.notify = notify

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [os.fsdecode(event.src_path), os.fsdecode(getattr(event, "dest_path", "") or "")]
        for path in filter(None, paths):
            if is_image_path(path) or (event.is_directory and event.event_type in ("moved", "deleted")):
                self.notify(path)
                return
