"""Thumbnail cache: small JPEGs named by a key of (path, size, mtime), written atomically.

Keys come back from the database, which anyone can edit: a key is used only if it has the exact
form ``thumbnail_key`` makes (24 lower-case hex digits), and every file written or deleted is
checked to resolve inside the cache folder, so a tampered key never touches a file elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from zssbir_core.atomic import atomic_write
from zssbir_core.errors import LibraryError
from zssbir_core.paths import bytes_on_disk

THUMBNAIL_SIZE = 320
"""Longest side of a cached thumbnail, in pixels."""

_KEY = re.compile(r"[0-9a-f]{24}")


def thumbnail_key(path: str, size: int, mtime_ns: int) -> str:
    """A stable name for the thumbnail of one version of one file."""
    raw = os.fsencode(path) + f"\0{size}\0{mtime_ns}".encode()
    return hashlib.sha1(raw).hexdigest()[:24]


def valid_key(key: object) -> bool:
    """Whether ``key`` has the form ``thumbnail_key`` gives (nothing else names a cache file)."""
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


class ThumbnailCache:
    """``directory/ab/abcdef....jpg`` files; writing is safe from several threads."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, key: str) -> Path:
        """The file of ``key``; LibraryError for a key that ``thumbnail_key`` cannot have made."""
        if not valid_key(key):
            raise LibraryError(f"damaged thumbnail key {key!r} in the library database")
        return self.directory / key[:2] / f"{key}.jpg"

    def write(self, key: str, image: Image.Image) -> Path:
        """Save a thumbnail of ``image`` (RGB) under ``key``; the original image is not changed."""
        target = self.path_for(key)
        small = image.copy()
        small.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not self._owns(target):
                raise LibraryError(f"{target} is not inside the thumbnail folder {self.directory}")
            with atomic_write(target, durable=False) as handle:
                small.save(handle, format="JPEG", quality=85)
        except OSError as error:
            raise LibraryError(f"cannot write thumbnails in {self.directory}: {error.strerror or error}") from None
        return target

    def remove(self, keys: Iterable[str]) -> None:
        """Delete the thumbnails of ``keys``; malformed keys and files outside the cache are left alone."""
        for key in keys:
            if not valid_key(key):
                continue
            target = self.path_for(key)
            if self._owns(target):
                target.unlink(missing_ok=True)

    def _owns(self, target: Path) -> bool:
        """Whether ``target`` (resolved, links followed) lies in a subfolder of the cache folder,
        and the cache folder is itself a real folder of the library (not a link elsewhere)."""
        try:
            root = self.directory.resolve()
            parent = target.parent.resolve()
            real_root = self.directory.parent.resolve() / self.directory.name
        except OSError:
            return False
        return root == real_root and parent.parent == root and not target.is_symlink()

    def disk_bytes(self) -> int:
        return bytes_on_disk(self.directory.rglob("*.jpg"))
