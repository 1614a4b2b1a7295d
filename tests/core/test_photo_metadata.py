"""Photo metadata for the preview: EXIF capture date, shown size, and clear errors."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from zssbir_core.errors import ImageReadError
from zssbir_core.photo_metadata import read_photo_metadata


def write_jpeg(path: Path, *, taken: str | None = None, orientation: int | None = None) -> Path:
    image = Image.new("RGB", (40, 30), (200, 80, 20))
    exif = Image.Exif()
    if taken is not None:
        exif.get_ifd(0x8769)[0x9003] = taken
    if orientation is not None:
        exif[0x0112] = orientation
    image.save(path, "JPEG", exif=exif.tobytes())
    return path


def test_exif_date_and_size(tmp_path: Path) -> None:
    meta = read_photo_metadata(write_jpeg(tmp_path / "a.jpg", taken="2021:07:14 18:30:05"))
    assert meta.taken == datetime(2021, 7, 14, 18, 30, 5) and meta.date == meta.taken
    assert (meta.width, meta.height) == (40, 30) and meta.file_size == (tmp_path / "a.jpg").stat().st_size


def test_without_exif_the_file_date_is_used(tmp_path: Path) -> None:
    path = write_jpeg(tmp_path / "b.jpg")
    os.utime(path, (1_600_000_000, 1_600_000_000))
    meta = read_photo_metadata(path)
    assert meta.taken is None and meta.date == datetime.fromtimestamp(1_600_000_000)


def test_rotated_photo_reports_the_shown_size_and_bad_dates_are_ignored(tmp_path: Path) -> None:
    meta = read_photo_metadata(write_jpeg(tmp_path / "c.jpg", taken="0000:00:00 00:00:00", orientation=6))
    assert (meta.width, meta.height) == (30, 40) and meta.taken is None


@pytest.mark.parametrize("content", [None, b"", b"plain text, not a picture"])
def test_missing_or_unreadable_files_raise_image_read_error(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "x.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageReadError) as error:
        read_photo_metadata(path)
    assert error.value.reason
