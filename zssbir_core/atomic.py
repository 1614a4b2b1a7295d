"""Writing files and directories so that readers see the old version or the new one, never half.

``atomic_write`` is the one way the project writes a file in place: a temporary file with a unique
name beside the target (so concurrent writers never share or delete each other's temp files),
flushed (and fsynced when ``durable``), then renamed over the target; on any failure the temporary
file is removed and the target is untouched. ``replace_directory`` does the same for a directory,
and ``append_text`` adds to a log file.

None of them follows a symbolic link at the target: a link there (planted in a run folder, say)
raises ``LinkTargetError`` and nothing is written, so no write can land on a file elsewhere.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from zssbir_core.errors import LinkTargetError

TEMP_SUFFIX = ".tmp"
"""Temporary files of ``atomic_write`` are ``.<target name>.<random>.tmp`` beside the target."""

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once at import: files get the permissions a plain open() would give


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, durable: bool = True) -> Iterator[Path]:
    """A unique temporary path beside ``path``; whatever the ``with`` block writes there replaces
    ``path`` when the block ends without error (for writers that want a file name, not a handle).

    ``durable``: fsync the file and its folder, so the new version survives a power cut.
    """
    target = Path(path)
    refuse_link(target)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
    os.close(fd)
    temp = Path(temp_name)
    try:
        yield temp
        if durable:
            with open(temp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.chmod(temp, 0o666 & ~_UMASK)
        refuse_link(target)  # again: a link may have been planted while the block wrote
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_directory(target.parent)


@contextmanager
def atomic_write(path: str | os.PathLike[str], *, durable: bool = True) -> Iterator[IO[bytes]]:
    """A binary handle whose content replaces ``path`` when the ``with`` block ends without error."""
    with atomic_path(path, durable=durable) as temp, open(temp, "wb") as handle:
        yield handle


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` in one step (see ``atomic_write``)."""
    with atomic_write(path, durable=durable) as handle:
        handle.write(data)


def write_text_atomic(path: str | os.PathLike[str], text: str, *, durable: bool = True) -> None:
    """Replace ``path`` with ``text`` (UTF-8) in one step (see ``atomic_write``)."""
    write_bytes_atomic(path, text.encode("utf-8"), durable=durable)


def append_text(path: str | os.PathLike[str], text: str) -> None:
    """Append ``text`` (UTF-8) to ``path``, creating it; a link at ``path`` is refused, not followed."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    refuse_link(Path(path))
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as error:
        if Path(path).is_symlink():  # O_NOFOLLOW answers ELOOP for a link planted just now
            raise LinkTargetError(path) from error
        raise
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(text)


def refuse_link(path: Path) -> None:
    """Raise ``LinkTargetError`` when ``path`` itself is a symbolic link (a missing path is fine)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise LinkTargetError(path)


def fsync_directory(folder: str | os.PathLike[str]) -> None:
    """Make a rename inside ``folder`` durable (a no-op where folders cannot be opened)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_directory(source: Path, target: Path) -> None:
    """Move the complete directory ``source`` to ``target``, replacing any directory there.

    ``source`` must be on the same file system (a temporary directory beside ``target``). An
    existing ``target`` is first renamed aside, so at every moment one complete version exists.
    A link at ``target`` is refused (``LinkTargetError``).
    """
    refuse_link(target)
    if not target.exists():
        os.replace(source, target)
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-old-"))
    os.replace(target, old / target.name)
    os.replace(source, target)
    shutil.rmtree(old, ignore_errors=True)
