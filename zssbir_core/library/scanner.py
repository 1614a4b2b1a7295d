"""Walking photo folders: every image file once, with size and mtime; problems reported, never raised.

Hidden files and folders (name starting with a dot, or the Windows hidden attribute), names
matching an exclude pattern (see ``excludes``) and folders holding a ``.nomedia`` file are left
out. Folder symlinks are followed only when their real target lies inside a watched folder (a link
to ``/`` does not walk the disk) and never into the library's own folder; each real folder and
each real file is visited once, so symlink loops and hard links neither hang the walk nor
duplicate photos. Names that are not valid UTF-8 are kept as ``os.fsdecode`` gives them (their
bytes survive as surrogate escapes; ``display_path`` shows them readably). RAW camera files, a
symlink loop, a broken link, an empty file, a file that vanishes while the walk runs, and an
unreadable folder become ``SkippedFile``s; a RAW file beside a JPEG of the same name is left out
silently (the JPEG is indexed).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from zssbir_core.imageio import HEIF_EXTENSIONS, HEIF_SUPPORTED, RAW_EXTENSIONS, is_image_path
from zssbir_core.library.excludes import ExcludeRules, has_nomedia
from zssbir_core.library.records import SkippedFile

DEFAULT_EXCLUDES = ("@eaDir", "$RECYCLE.BIN", "System Volume Information", "lost+found", "#recycle")
"""Folder names of NAS and OS housekeeping that never hold the user's photos."""


@dataclass(frozen=True)
class FileEntry:
    """An image file found on disk: absolute path (``/``-separated), size in bytes, mtime in ns."""

    path: str
    size: int
    mtime_ns: int


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


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
        on_problem: Callable[[SkippedFile], None] = lambda p: None,
        skip: Sequence[str] = (),
        within: Sequence[str] = (),
    ) -> None:
        """``exclude``: patterns (see ``excludes``); ``skip``: folders never entered, whatever
        links lead there; ``within``: folders that folder links may lead into (default: the
        folder being scanned)."""
        self.rules = ExcludeRules([*DEFAULT_EXCLUDES, *exclude])
        self.skip = [os.path.realpath(path) for path in skip]
        self.within = [os.path.realpath(path) for path in within]
        self.on_problem = on_problem
        self._seen_dirs: set[tuple[int, int]] = set()
        self._seen_files: set[tuple[int, int]] = set()
        self._roots: list[str] = []

    def _problem(self, path: str, reason: str, st: os.stat_result | None = None) -> None:
        size, mtime = (st.st_size, st.st_mtime_ns) if st is not None else (None, None)
        self.on_problem(SkippedFile(path.replace(os.sep, "/"), reason, size, mtime))

    def scan(self, root: str) -> Iterator[FileEntry]:
        """Every readable, non-empty image file under ``root`` (depth first, sorted by name)."""
        try:
            st = os.stat(root)
        except OSError:
            return
        self._seen_dirs.add((st.st_dev, st.st_ino))
        self._roots = self.within or [os.path.realpath(root)]
        stack = [root]
        while stack:
            folder = stack.pop()
            if has_nomedia(folder):
                continue
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
            image_stems = {os.path.splitext(e.name)[0].casefold() for e in entries if is_image_path(e.name)}
            for entry in entries:
                try:
                    if _hidden(entry):
                        continue
                except OSError:
                    continue  # vanished: nothing to report for a name we would skip anyway
                relative = os.path.relpath(entry.path, root).replace(os.sep, "/")
                if self.rules.excludes(entry.name, relative, entry.path.replace(os.sep, "/")):
                    continue
                found = self._visit(entry, image_stems)
                if isinstance(found, str):
                    subfolders.append(found)
                elif found is not None:
                    yield found
            stack.extend(reversed(subfolders))

    def _visit(self, entry: os.DirEntry[str], image_stems: set[str]) -> FileEntry | str | None:
        """A file entry, a folder path to descend into, or None (skipped, maybe with a problem);
        ``image_stems``: the names (without suffix, case-folded) of the images beside ``entry``."""
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
        if is_dir:
            real = os.path.realpath(entry.path)
            if any(_inside(real, skip) for skip in self.skip):
                return None  # the library's own folder, however it is reached
            if entry.is_symlink() and not any(_inside(real, root) for root in self._roots):
                return None  # a link out of the watched folders (to / or elsewhere) is not followed
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
            stem, suffix = os.path.splitext(entry.name)
            if not HEIF_SUPPORTED and suffix.lower() in HEIF_EXTENSIONS:
                self._problem(entry.path, "HEIC/HEIF photos need the optional pillow-heif package (zssbir[heif])")
            elif suffix.lower() in RAW_EXTENSIONS and stem.casefold() not in image_stems:
                self._problem(entry.path, "RAW camera file: not read (keep the camera's JPEG beside it, or convert it)",
                              _stat_or_none(entry))
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


def _stat_or_none(entry: os.DirEntry[str]) -> os.stat_result | None:
    try:
        return entry.stat(follow_symlinks=True)
    except OSError:
        return None
