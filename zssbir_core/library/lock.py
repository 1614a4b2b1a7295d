"""One writer per library: an OS file lock, released by the kernel even if the process is killed."""

from __future__ import annotations

import os
import time
from pathlib import Path

from zssbir_core.errors import LibraryError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt


class WriterLock:
    """Exclusive lock on ``path``; ``acquire`` raises LibraryError when it stays taken.

    ``acquire`` waits up to ``wait_s`` seconds, so that a reader that briefly holds the lock to
    save the search index does not make a writer fail; ``try_acquire`` never waits.
    """

    POLL_S = 0.05

    def __init__(self, path: Path, *, wait_s: float = 10.0) -> None:
        self.path = path
        self.wait_s = wait_s
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, waiting up to ``wait_s``; LibraryError if another writer keeps it."""
        deadline = time.monotonic() + self.wait_s
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                raise LibraryError(
                    f"the library {self.path.parent} is being indexed by another program; "
                    "try again when it has finished"
                )
            time.sleep(self.POLL_S)

    def try_acquire(self) -> bool:
        """Take the lock if it is free right now; whether it was taken."""
        if self._fd is not None:
            return False
        try:
            # never through a link, never blocking on a FIFO planted in its place
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_NONBLOCK", 0), 0o644)
        except OSError as error:
            raise LibraryError(f"cannot lock {self.path}: {error.strerror or error}") from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def is_free(self) -> bool:
        """Whether nobody (this object included) holds the lock right now."""
        try:
            if self.held or not self.try_acquire():
                return False
        except LibraryError:  # the lock file cannot be opened (a read-only library): no writer here
            return False
        self.release()
        return True
