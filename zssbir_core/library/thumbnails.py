"""Thumbnail cache: small JPEGs named by a key of (path, size, mtime), written atomically."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from zssbir_core.errors import LibraryError

THUMBNAIL_SIZE = 320
"""Longest side of a cached thumbnail, in pixels."""


def thumbnail_key(path: str, size: int, mtime_ns: int) -> str:
    """A stable name for the thumbnail of one version of one file."""
    return hashlib.sha1(f"{path}\0{size}\0{mtime_ns}".encode("utf-8")).hexdigest()[:24]


class ThumbnailCache:
    """``directory/ab/abcdef....jpg`` files; writing is safe from several threads."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.jpg"

    def write(self, key: str, image: Image.Image) -> Path:
        """Save a thumbnail of ``image`` (RGB) under ``key``; the original image is not changed."""
        target = self.path_for(key)
        small = image.copy()
        small.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0)
        temp = target.with_name(f"{target.stem}.{os.getpid()}.{id(small)}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            small.save(temp, format="JPEG", quality=85)
            os.replace(temp, target)
        except OSError as error:
            temp.unlink(missing_ok=True)
            raise LibraryError(f"cannot write thumbnails in {self.directory}: {error.strerror or error}") from None
        return target

    def remove(self, keys: Iterable[str]) -> None:
        for key in keys:
            if key:
                self.path_for(key).unlink(missing_ok=True)

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.directory.rglob("*.jpg"))
