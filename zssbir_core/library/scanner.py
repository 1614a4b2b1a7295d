"""Walking photo folders: every image file once, with size and mtime; problems reported, never raised.

Hidden files and folders (name starting with a dot, or the Windows hidden attribute) and names
matching an exclude pattern are left out. Folder symlinks are followed, but each real folder and
each real file is visited once, so symlink loops and hard links neither hang the walk nor
duplicate photos. A name that is not valid UTF-8, a symlink loop, a broken link, an empty file, a
file that vanishes while the walk runs, and an unreadable folder become ``ScanProblem``s.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from zssbir_core.imageio import HEIF_EXTENSIONS, HEIF_SUPPORTED, is_image_path

DEFAULT_EXCLUDES = ("@eaDir", "$RECYCLE.BIN", "System Volume Information", "lost+found", "#recycle")
"""Folder names of NAS and OS housekeeping that never hold the user's photos."""


@dataclass(frozen=True)
class FileEntry:
    """An image file found on disk: absolute path (``/``-separated), size in bytes, mtime in ns."""

    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class ScanProblem:
    """A file or folder that cannot be indexed, with a short reason."""

    path: str
    reason: str
    size: int | None = None
    mtime_ns: int | None = None


def display_path(path: str) -> str:
    """``path`` as text that can be stored and printed, even if it is not valid UTF-8."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _valid_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _hidden(entry: os.DirEntry[str]) -> bool:
    if entry.name.startswith("."):
        return True
    if os.name != "nt":
        return False
    attributes = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
    return bool(attributes & getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 0))


class FolderScanner:
    """Walks watched folders; ``scan(root)`` yields files and reports problems to ``on_problem``."""

    def __init__(
        self,
        exclude: Sequence[str] = (),
        on_problem: Callable[[ScanProblem], None] = lambda p: None,
        skip: Sequence[str] = (),
    ) -> None:
        """``exclude``: glob patterns on names or relative paths; ``skip``: folders never entered."""
        self.exclude = tuple(DEFAULT_EXCLUDES) + tuple(exclude)
        self.skip = {os.path.abspath(path) for path in skip}
        self.on_problem = on_problem
        self._seen_dirs: set[tuple[int, int]] = set()
        self._seen_files: set[tuple[int, int]] = set()

    def _excluded(self, name: str, relative: str) -> bool:
        return any(fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(relative, pattern) for pattern in self.exclude)

    def _problem(self, path: str, reason: str, st: os.stat_result | None = None) -> None:
        size, mtime = (st.st_size, st.st_mtime_ns) if st is not None else (None, None)
        self.on_problem(ScanProblem(display_path(path), reason, size, mtime))

    def scan(self, root: str) -> Iterator[FileEntry]:
        """Every readable, non-empty image file under ``root`` (depth first, sorted by name)."""
        try:
            st = os.stat(root)
        except OSError:
            return
        self._seen_dirs.add((st.st_dev, st.st_ino))
        stack = [root]
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(folder) as iterator:
                    entries = sorted(iterator, key=lambda e: e.name)
            except PermissionError:
                self._problem(folder, "permission denied: folder skipped")
                continue
            except OSError as error:
                self._problem(folder, f"folder cannot be read ({error.strerror or error})")
                continue
            subfolders = []
            for entry in entries:
                try:
                    if _hidden(entry):
                        continue
                except OSError:
                    continue  # vanished: nothing to report for a name we would skip anyway
                relative = PurePosixPath(os.path.relpath(entry.path, root).replace(os.sep, "/")).as_posix()
                if self._excluded(entry.name, relative):
                    continue
                found = self._visit(entry)
                if isinstance(found, str):
                    subfolders.append(found)
                elif found is not None:
                    yield found
            stack.extend(reversed(subfolders))

    def _visit(self, entry: os.DirEntry[str]) -> FileEntry | str | None:
        """A file entry, a folder path to descend into, or None (skipped, maybe with a problem)."""
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
        if is_dir:
            if os.path.abspath(entry.path) in self.skip:
                return None
            if not _valid_utf8(entry.name):
                self._problem(entry.path, "folder name is not valid UTF-8: folder skipped")
                return None
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError as error:
                self._problem(entry.path, f"folder cannot be read ({error.strerror or error})")
                return None
            key = (st.st_dev, st.st_ino)
            if key in self._seen_dirs:
                return None  # a link back to a folder already walked
            self._seen_dirs.add(key)
            return entry.path
        if not is_image_path(entry.name):
            if not HEIF_SUPPORTED and os.path.splitext(entry.name)[1].lower() in HEIF_EXTENSIONS:
                self._problem(entry.path, "HEIC/HEIF photos need the optional pillow-heif package (zssbir[heif])")
            return None
        if not _valid_utf8(entry.name):
            self._problem(entry.path, "file name is not valid UTF-8")
            return None
        try:
            st = entry.stat(follow_symlinks=True)
        except OSError as error:
            if error.errno == errno.ELOOP:
                reason = "symbolic link loop"
            elif isinstance(error, FileNotFoundError):
                reason = "broken symbolic link" if entry.is_symlink() else "file vanished during the scan"
            else:
                reason = f"cannot read file ({error.strerror or error})"
            self._problem(entry.path, reason)
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        if st.st_size == 0:
            self._problem(entry.path, "empty file", st)
            return None
        key = (st.st_dev, st.st_ino)
        if key in self._seen_files:
            return None  # the same file reached through another link
        self._seen_files.add(key)
        return FileEntry(entry.path.replace(os.sep, "/"), st.st_size, st.st_mtime_ns)
