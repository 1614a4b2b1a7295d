"""Reading the project's own cache and index files: bounded, non-blocking and checked.

A library or cache folder can end up holding a FIFO (``search`` blocked forever on one), a link to
``/dev/zero`` (endless reads, a MemoryError at gigabytes) or a file far larger than it should be.
``read_regular`` opens without following a final link, without blocking on a FIFO, checks on the
open descriptor that it is a regular file within the cap, and reads at most the cap. It reads the
bytes into memory instead of mapping the file: a mapped file that another process truncates kills
the reader with SIGBUS.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0) | _NOFOLLOW


class UnsafeFileError(OSError):
    """The file is a link, a FIFO, a device or a folder, or larger than its cap."""


def read_regular(path: str | os.PathLike[str], max_bytes: int, *, follow_links: bool = False) -> bytes:
    """The content of the regular file ``path`` (not a link, unless ``follow_links``), at most
    ``max_bytes`` long.

    Raises ``FileNotFoundError`` when it is missing, ``UnsafeFileError`` when it is not a regular
    file or is larger than ``max_bytes``, and other ``OSError`` when it cannot be read.
    """
    fd = _open(Path(path), follow_links)
    try:
        _check(path, os.fstat(fd), max_bytes)
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise UnsafeFileError(f"{path} grew past {max_bytes:,} bytes while it was read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _open(path: Path, follow_links: bool = False) -> int:
    try:
        return os.open(path, _FLAGS & ~_NOFOLLOW if follow_links else _FLAGS)
    except OSError as error:
        if path.is_symlink():
            raise UnsafeFileError(f"{path} is a symbolic link") from error
        raise


def _check(path: object, info: os.stat_result, max_bytes: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFileError(f"{path} is not a regular file")
    if info.st_size > max_bytes:
        raise UnsafeFileError(f"{path} is larger than {max_bytes:,} bytes")


def sha256_regular(path: str | os.PathLike[str], max_bytes: int) -> str:
    """SHA-256 of the regular file ``path`` (not a link), read in chunks without blocking; the
    same refusals as ``read_regular``."""
    fd = _open(Path(path))
    try:
        info = os.fstat(fd)
        _check(path, info, max_bytes)
        digest = hashlib.sha256()
        total = 0
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise UnsafeFileError(f"{path} grew past {max_bytes:,} bytes while it was read")
        return digest.hexdigest()
    finally:
        os.close(fd)
