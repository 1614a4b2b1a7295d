"""How much memory decoding an image may take, decided before any pixel is decoded.

``decode_bytes`` estimates the peak bytes that ``zssbir_core.imageio`` needs for an opened (not yet
loaded) image: the decoded pixels in their own mode, the RGB result and the intermediate steps of
the conversion (an RGBA step for palettes and transparency, a grey step for 16- and 32-bit data,
Pillow's second canvas for GIF frames, a copy for EXIF rotation). An image whose estimate exceeds
``MAX_DECODE_BYTES`` is refused; a smaller one reserves its estimate from ``DECODE_BUDGET``, which
all decoding threads of the process share, so that four threads decoding four large images
(``index --workers 4``) wait for each other instead of quadrupling the peak.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image

MAX_DECODE_BYTES = 1 << 30
"""Peak memory one decode may use, and all decodes of the process together (1 GiB)."""

_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 2, "La": 2, "PA": 2, "I;16": 2, "I;16L": 2, "I;16B": 2,
               "I;16N": 2, "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3}
_HIGH_DEPTH = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")
_VIA_RGBA = ("P", "PA", "LA", "La", "RGBa")
_RGB = 3


def decode_bytes(image: Image.Image) -> int:
    """The peak bytes decoding ``image`` (opened, drafted, not loaded) to 8-bit RGB may take."""
    width, height = image.size
    per_pixel = _MODE_BYTES.get(image.mode, 4) + _RGB
    if image.mode in _VIA_RGBA or "transparency" in image.info:
        per_pixel += 4
    if image.mode in _HIGH_DEPTH:
        per_pixel += 1
    if image.format == "GIF":
        per_pixel += 4  # the frame is pasted onto a second canvas of the logical screen
    if image.mode != "RGB" or _rotated(image):
        per_pixel += _RGB  # a conversion or rotation copy may coexist with the result briefly
    return width * height * per_pixel


def _rotated(image: Image.Image) -> bool:
    try:
        return image.getexif().get(0x0112, 1) != 1
    except Exception:  # noqa: BLE001 - unreadable EXIF raises anything; exif_transpose ignores it too
        return False


class DecodeBudget:
    """Bytes reserved by the decodes in progress; ``reserve`` waits until enough is free."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self._free = threading.Condition()

    @contextmanager
    def reserve(self, amount: int) -> Iterator[None]:
        """Hold ``amount`` bytes of the budget for the ``with`` block (at most ``capacity``)."""
        amount = min(amount, self.capacity)
        with self._free:
            self._free.wait_for(lambda: self.in_use + amount <= self.capacity)
            self.in_use += amount
        try:
            yield
        finally:
            with self._free:
                self.in_use -= amount
                self._free.notify_all()


DECODE_BUDGET = DecodeBudget(MAX_DECODE_BYTES)
"""The budget every decode of this process shares."""
