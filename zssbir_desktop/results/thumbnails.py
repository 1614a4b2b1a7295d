"""Thumbnails decoded off the GUI thread and kept in a small LRU cache of pixmaps.

The loader turns files into ``QImage`` on a pool thread (``QImage`` is safe there); the GUI thread
turns each into a ``QPixmap`` once and keeps the most recent ones (the calibre cover-grid habit).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap

from zssbir_core.errors import ZssbirError
from zssbir_desktop.canvas.imageconv import pil_to_qimage

log = logging.getLogger("zssbir.desktop")

ThumbnailSource = Callable[[Path, int, "int | None"], Image.Image]
"""(path, size, library photo id or None) -> a PIL image whose longer side is at most ``size``."""


def file_thumbnail(path: Path, size: int, photo_id: int | None = None) -> Image.Image:
    """Decode ``path`` with the core's safe reader (JPEG draft mode) and shrink it to ``size``."""
    from zssbir_core.api import open_image

    image = open_image(path, target_size=size)
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    return image


class _LoadJob(QRunnable):
    def __init__(
        self, loader: ThumbnailLoader, key: Hashable, path: Path, size: int, photo_id: int | None
    ) -> None:
        super().__init__()
        self._loader, self._key, self._path, self._size, self._id = loader, key, path, size, photo_id

    def run(self) -> None:
        try:
            image = pil_to_qimage(self._loader.source(self._path, self._size, self._id))
        except ZssbirError as error:
            self._loader.failed.emit(self._key, str(error))
        except Exception as error:  # any decoder failure is one broken thumbnail
            log.exception("thumbnail of %s failed", self._path)
            self._loader.failed.emit(self._key, str(error))
        else:
            self._loader.loaded.emit(self._key, image)


class ThumbnailLoader(QObject):
    """Loads thumbnails on two pool threads and caches the last ``capacity`` as pixmaps.

    ``pixmap(key, path, size)`` returns the cached pixmap or None and starts a load; ``ready(key)``
    fires on the GUI thread when it arrives.
    """

    loaded = Signal(object, QImage)
    failed = Signal(object, str)
    ready = Signal(object)

    def __init__(
        self, source: ThumbnailSource = file_thumbnail, capacity: int = 600, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.source = source
        self.capacity = capacity
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._cache: OrderedDict[Hashable, QPixmap] = OrderedDict()
        self._pending: set[Hashable] = set()
        self.broken: dict[Hashable, str] = {}
        self.loaded.connect(self._on_loaded)
        self.failed.connect(self._on_failed)

    def pixmap(self, key: Hashable, path: Path, size: int, photo_id: int | None = None) -> QPixmap | None:
        """The cached thumbnail for ``key``, or None while it is being loaded (or is broken)."""
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        if key not in self._pending and key not in self.broken:
            self._pending.add(key)
            self.pool.start(_LoadJob(self, key, Path(path), size, photo_id))
        return None

    def _on_loaded(self, key: Hashable, image: QImage) -> None:
        self._pending.discard(key)
        self._cache[key] = QPixmap.fromImage(image)
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        self.ready.emit(key)

    def _on_failed(self, key: Hashable, reason: str) -> None:
        self._pending.discard(key)
        self.broken[key] = reason
        self.ready.emit(key)

    def clear(self) -> None:
        """Forget every cached thumbnail (e.g. when the thumbnail size changes)."""
        self._cache.clear()
        self.broken.clear()

    def wait(self, msecs: int = -1) -> bool:
        """Block until every queued load has finished."""
        return self.pool.waitForDone(msecs)
