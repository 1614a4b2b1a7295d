"""What a person wants to know about a photo besides its pixels: when it was taken, its size.

Reads only the file header (Pillow opens lazily), so it is cheap enough for a preview pane.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from zssbir_core.errors import ImageReadError

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_DATETIME = 0x0132


@dataclass(frozen=True)
class PhotoMetadata:
    """A photo's capture time (EXIF, if any), file modification time, pixel size and file size."""

    path: Path
    taken: datetime | None
    modified: datetime
    width: int
    height: int
    file_size: int

    @property
    def date(self) -> datetime:
        """The best date to show: when it was taken, else when the file last changed."""
        return self.taken or self.modified


def _parse_exif_date(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text.strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def read_photo_metadata(path: str | Path) -> PhotoMetadata:
    """Metadata of ``path``; raises ``ImageReadError`` when the file is missing or not an image."""
    path = Path(path)
    try:
        stat = os.stat(path)
        with Image.open(path) as image:
            width, height = image.size
            exif = image.getexif()
            taken = _parse_exif_date(exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL)) or _parse_exif_date(
                exif.get(_DATETIME)
            )
            if exif.get(0x0112) in (5, 6, 7, 8):  # rotated by 90 degrees: report the shown size
                width, height = height, width
    except FileNotFoundError as error:
        raise ImageReadError(path, "file not found") from error
    except PermissionError as error:
        raise ImageReadError(path, "permission denied") from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise ImageReadError(path, f"not a readable image ({error})") from error
    return PhotoMetadata(path, taken, datetime.fromtimestamp(stat.st_mtime), width, height, stat.st_size)
