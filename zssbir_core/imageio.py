"""Reading photos and sketches from disk: fast, correct, and safe against hostile files.

``open_image`` is the one way the project decodes an image file. It always returns an 8-bit RGB
``PIL.Image`` or raises ``ImageReadError(path, reason)`` with a short reason; it never lets a
Pillow, OS or decoder exception through. What it takes care of:

- JPEG draft mode: given ``target_size`` (the side the caller will resize the shorter side to), a
  large JPEG is decoded directly at 1/2, 1/4 or 1/8 scale, never below ``target_size``;
- EXIF orientation is applied;
- CMYK, palette, greyscale, 16-bit and float images are converted to RGB; transparency is
  composited on white (a sketch drawn on a transparent canvas stays black on white);
- GIF and multi-page TIFF give their first frame;
- only a fixed set of formats is tried (no PostScript, no exotic plugins); images larger than
  ``MAX_PIXELS``, with a side longer than ``MAX_SIDE`` or more elongated than ``MAX_ASPECT`` are
  refused before decoding (a 1 x 2,000,000 strip passes a pixel count but would ask for hundreds
  of GB once its short side is scaled to the network's input);
- memory: the peak a decode needs is estimated from the header and refused above
  ``MAX_DECODE_BYTES`` before any pixel is decoded, and all decoding threads share one budget
  (``zssbir_core.decode_budget``); 16- and 32-bit data is scaled to 8 bits a band of rows at a time;
- the file is read through a handle the function opened itself (non-blocking, checked to be a
  regular file), never memory-mapped: Pillow maps uncompressed TIFFs opened by name, and a file
  rewritten while mapped kills the process with SIGBUS;
- HEIC/HEIF is read when the optional ``pillow-heif`` package is installed (``zssbir[heif]``).
"""

from __future__ import annotations

import errno
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from zssbir_core.decode_budget import DECODE_BUDGET, MAX_DECODE_BYTES, decode_bytes
from zssbir_core.errors import ImageReadError

try:  # optional extra: zssbir[heif]
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - depends on the installation
    HEIF_SUPPORTED = False

HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif"})
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".dib", ".tif", ".tiff", ".gif"}
) | (HEIF_EXTENSIONS if HEIF_SUPPORTED else frozenset())
"""Lower-case file suffixes that ``open_image`` reads (HEIF ones only with pillow-heif)."""

_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "DIB", "TIFF", "GIF") + (
    ("HEIF",) if HEIF_SUPPORTED else ()
)

MAX_PIXELS = 180_000_000
"""Largest image (width x height) accepted; bigger files are refused as decompression bombs."""
MAX_SIDE = 65_500
"""Longest side accepted, in pixels (JPEG's own limit)."""
MAX_ASPECT = 20.0
"""Most elongated image accepted (long side / short side); the widest real panoramas stay below."""

RAW_EXTENSIONS = frozenset(
    {".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".raf", ".orf", ".rw2",
     ".pef", ".srw", ".x3f", ".3fr", ".erf", ".kdc", ".mef", ".mos", ".mrw", ".iiq", ".rwl", ".raw"}
)
"""Lower-case suffixes of camera RAW files, which are not read (they are listed as skipped)."""

# We check the pixel count ourselves (MAX_PIXELS); Pillow's softer warning would only be noise.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
ImageFile.LOAD_TRUNCATED_IMAGES = False


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image with the size of the original file (after EXIF orientation)."""

    image: Image.Image
    width: int
    height: int
    format: str


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has a suffix that ``open_image`` reads (the file is not opened)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def open_image(path: str | os.PathLike[str], *, target_size: int | None = None) -> Image.Image:
    """Decode ``path`` as 8-bit RGB; with ``target_size``, large JPEGs are decoded at reduced scale.

    The shorter side of the result is at least ``target_size`` whenever the original's is.
    Raises ``ImageReadError`` with a short reason for anything that cannot be read.
    """
    return load_image(path, target_size=target_size).image


def load_image(path: str | os.PathLike[str], *, target_size: int | None = None) -> LoadedImage:
    """Like ``open_image``, also returning the original (oriented) size and the file format."""
    path = Path(path)
    try:
        with _open_regular(path) as handle, Image.open(handle, formats=_FORMATS) as image:
            image_format = image.format or "unknown"
            width, height = image.size
            if width <= 0 or height <= 0:
                raise ImageReadError(path, f"invalid image size {width}x{height}")
            check_proportions(path, width, height)
            if target_size and image_format in ("JPEG", "MPO"):
                image.draft("RGB", (target_size, target_size))
            needed = decode_bytes(image)
            if needed > MAX_DECODE_BYTES:
                raise ImageReadError(path, f"image too large ({width}x{height} {image.mode} would take "
                                           f"{needed / 2**20:,.0f} MB to decode, over the memory budget "
                                           f"of {MAX_DECODE_BYTES / 2**20:,.0f} MB)")
            with DECODE_BUDGET.reserve(needed):
                image.load()
                if _swaps_sides(image):
                    width, height = height, width
                rgb = to_rgb(ImageOps.exif_transpose(image))
    except ImageReadError:
        raise
    except Image.DecompressionBombError:
        raise ImageReadError(path, "image too large: refused as a possible decompression bomb") from None
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image, or a format that is not supported") from None
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a directory, not a file") from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except MemoryError:
        raise ImageReadError(path, "not enough memory to decode") from None
    except OSError as error:
        raise ImageReadError(path, _os_reason(error)) from None
    except Exception as error:  # hostile files raise anything: struct.error, ValueError, ...
        raise ImageReadError(path, f"corrupt image ({type(error).__name__}: {error})") from None
    return LoadedImage(rgb, width, height, image_format)


def _open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading without blocking (a FIFO) and checked to be a regular, non-empty file."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ImageReadError(path, "is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise ImageReadError(path, "not a regular file")
        if info.st_size == 0:
            raise ImageReadError(path, "empty file")
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def check_proportions(path: object, width: int, height: int) -> None:
    """Raise ``ImageReadError`` for a size that no photo has and that decoding or resizing would
    turn into an enormous allocation: too many pixels, a side too long, or too elongated."""
    if width <= 0 or height <= 0:
        raise ImageReadError(path, f"invalid image size {width}x{height}")
    if width * height > MAX_PIXELS:
        raise ImageReadError(
            path, f"image too large ({width}x{height} pixels, limit {MAX_PIXELS:,}): refused as a possible decompression bomb"
        )
    if max(width, height) > MAX_SIDE:
        raise ImageReadError(path, f"image too large ({width}x{height}: a side longer than {MAX_SIDE:,} pixels)")
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise ImageReadError(
            path, f"image too elongated ({width}x{height}: more than {MAX_ASPECT:g} times longer than wide)"
        )


def _swaps_sides(image: Image.Image) -> bool:
    """Whether the EXIF orientation turns the picture by 90 degrees."""
    try:
        return image.getexif().get(0x0112) in (5, 6, 7, 8)
    except Exception:  # unreadable EXIF: exif_transpose will ignore it as well
        return False


def _os_reason(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "symbolic link loop"
    if error.errno is None:  # raised by a decoder, not by the file system
        message = str(error)
        if "truncated" in message.lower() or "broken data stream" in message:
            return "truncated or corrupt image data"
        return f"corrupt image data ({message})"
    return f"cannot read file ({error.strerror or error})"


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; transparent pixels become white."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        return _high_depth_to_rgb(image)
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("LA", "PA", "La", "RGBa"):
        image = image.convert("RGBA")
    elif mode == "L" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def _high_depth_to_rgb(image: Image.Image) -> Image.Image:
    """16-bit and 32-bit greyscale scaled to 8 bits (float images in [0, 1] or [0, 255])."""
    values = np.asarray(image)  # one copy in the image's own type (2 or 4 bytes a pixel)
    if image.mode == "F":
        scale = 255.0 if float(np.nanmax(values, initial=0.0)) <= 1.0 else 1.0
    elif image.mode.startswith("I;16"):
        scale = 1.0 / 257.0
    else:  # "I": 16-bit PNGs come as 32-bit integers; 8-bit data stays as is
        scale = 1.0 / 257.0 if float(values.max(initial=0.0)) > 255.0 else 1.0
    grey = np.empty(values.shape, dtype=np.uint8)
    band = max(1, (1 << 22) // max(values.shape[1], 1))  # float32 work space of about 16 MB
    for top in range(0, values.shape[0], band):
        rows = values[top: top + band].astype(np.float32) * scale
        grey[top: top + band] = np.clip(np.nan_to_num(rows), 0, 255)
    del values
    return Image.fromarray(grey).convert("RGB")
