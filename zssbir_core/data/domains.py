"""The two image domains of sketch-based retrieval, as integer codes used in labels and batches."""

from __future__ import annotations

PHOTO = 0
SKETCH = 1
DOMAIN_NAMES = ("photo", "sketch")
