"""Where the app writes its log (under platformdirs) and how unexpected errors reach the user.

Everything at INFO and above goes to ``log_dir()/zssbir.log`` (rotated). An exception nobody
caught, on the GUI thread or in a background task, is logged there with its traceback and handed
to whoever listens to ``ErrorReporter.error`` (the main window shows it).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Signal

from zssbir_core.errors import ZssbirError
from zssbir_core.paths import log_dir

LOG_NAME = "zssbir.log"
log = logging.getLogger("zssbir")


def log_file() -> Path:
    """The current log file."""
    return log_dir() / LOG_NAME


def describe_error(error: BaseException) -> str:
    """A readable sentence for ``error``: our own errors as they are, OS errors by their reason,
    anything else by its type with a pointer to the log file."""
    if isinstance(error, ZssbirError):
        return str(error)
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror} ({error.filename})" if error.filename else error.strerror
    return f"unexpected {type(error).__name__}: {error}. Details are in {log_file()}"


def setup_logging() -> Path | None:
    """Send the ``zssbir`` loggers to the log file; returns its path (None if it cannot be written)."""
    path = log_file()
    for handler in list(log.handlers):
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            log.removeHandler(handler)
            handler.close()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError as error:
        print(f"zssbir: cannot write the log file {path}: {error}", file=sys.stderr)
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return path


class ErrorReporter(QObject):
    """Catches exceptions that reach the top of the GUI thread: logs them and emits ``error``."""

    error = Signal(str, str)  # title, message

    def install(self) -> None:
        """Become ``sys.excepthook`` (Qt slots that raise end up here instead of aborting)."""
        sys.excepthook = self._hook

    def _hook(self, kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        log.error("unexpected error:\n%s", "".join(traceback.format_exception(kind, value, tb)))
        self.error.emit("Unexpected error", f"{kind.__name__}: {value}\n\nDetails are in {log_file()}")
