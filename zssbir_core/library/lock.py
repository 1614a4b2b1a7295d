"""One writer per library: an OS file lock, released by the kernel even if the process is killed."""

from __future__ import annotations

import os
from pathlib import Path

from zssbir_core.errors import LibraryError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt


class WriterLock:
    """Exclusive, non-blocking lock on ``path``; ``acquire`` raises LibraryError when it is taken."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            os.close(fd)
            raise LibraryError(
                f"the library {self.path.parent} is being indexed by another program; try again when it has finished"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def is_free(self) -> bool:
        """Whether nobody (this object included) holds the lock right now."""
        if self.held:
            return False
        try:
            self.acquire()
        except LibraryError:
            return False
        self.release()
        return True
