"""Where zssbir keeps its data on this machine (platformdirs), overridable by environment.

``ZSSBIR_DATA_DIR`` moves everything (tests and portable installs use it); otherwise the
platform's user data, cache and log directories are used. Also two small helpers on paths:
``display_path`` (any path as printable text) and ``bytes_on_disk``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

import platformdirs

APP_NAME = "zssbir"


def data_dir() -> Path:
    """Root of everything zssbir stores for this user."""
    override = os.environ.get("ZSSBIR_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_library_dir() -> Path:
    """The photo library used when none is given."""
    return data_dir() / "library"


def models_dir() -> Path:
    """Trained checkpoints registered by the user."""
    return data_dir() / "models"


def cache_dir() -> Path:
    """Rebuildable caches (teacher soft labels, thumbnails of temporary queries)."""
    override = os.environ.get("ZSSBIR_DATA_DIR")
    if override:
        return Path(override) / "cache"
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    """Log files, including unexpected errors of background workers."""
    override = os.environ.get("ZSSBIR_DATA_DIR")
    if override:
        return Path(override) / "logs"
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def bytes_on_disk(files: Iterable[Path]) -> int:
    """Total size of the regular files among ``files``; files that vanish meanwhile count 0
    (another process may be replacing them while this one counts)."""
    total = 0
    for path in files:
        try:
            st = path.stat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            total += st.st_size
    return total


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` as printable text, even if its name is not valid UTF-8 (bad bytes as ``\\xNN``)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
