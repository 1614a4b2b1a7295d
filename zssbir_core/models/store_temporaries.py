"""The model store's hidden temporary folders: held while an import is assembled, removed once
their process is gone.

An import (``ModelStore.add``) assembles the new entry in ``.<key>-<random>`` and renames it into
place; a delete renames the entry to ``.deleted-<key>-<random>`` and removes it. A process killed
in between (SIGKILL, a power cut) leaves that folder behind for ever. ``claim`` holds an
exclusive ``flock`` on the folder while it is being filled (the OS releases it when the process
dies, however it dies; ``claim``/``release``), and ``remove_abandoned``, run whenever the store is opened, removes every
such folder that nobody holds and that has not changed for ``GRACE_S`` (a folder just made by
``mkdtemp`` is not held yet). Where ``flock`` does not exist (Windows) a folder is taken as
abandoned after ``ABANDONED_AFTER_S`` without change.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

ABANDONED_AFTER_S = 24 * 3600.0
GRACE_S = 60.0
_TEMPORARY = re.compile(r"\.(deleted-)?[0-9]{8}T[0-9]{6}-.+")


def claim(folder: Path) -> int | None:
    """Hold ``folder`` (a temporary folder of this process) until ``release``; the held descriptor."""
    if fcntl is None:
        return None
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def release(held: int | None) -> None:
    if held is not None:
        os.close(held)


def remove_abandoned(root: Path) -> list[str]:
    """Remove the temporary folders in ``root`` that no living process holds; their names."""
    removed = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        if not _TEMPORARY.fullmatch(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        if _abandoned(Path(entry.path)):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
    return removed


def _abandoned(folder: Path) -> bool:
    try:
        age = time.time() - os.lstat(folder).st_mtime
        if fcntl is None or age < GRACE_S:
            return age > ABANDONED_AFTER_S
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            return False
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:  # held: an import in progress in a living process
        return False
    finally:
        os.close(fd)
