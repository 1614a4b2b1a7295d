"""``zssbir``: start the desktop app.

The window is shown before torch is even imported: the library opens and the model loads in the
background once the event loop runs, with a visible "loading model" state.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

_STARTED = time.perf_counter()


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Our options; whatever is left (Qt's own, e.g. ``-platform``) goes to Qt."""
    parser = argparse.ArgumentParser(prog="zssbir", description="Find your photos by drawing them.")
    parser.add_argument("--library", metavar="DIR", help="use the photo library in DIR (created if missing)")
    parser.add_argument(
        "--startup-probe",
        choices=("window", "model"),
        help=argparse.SUPPRESS,  # benchmarks/app_startup.py: print when the window (and model) are ready
    )
    return parser.parse_known_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app; returns the exit status."""
    argv = list(sys.argv if argv is None else argv)
    args, qt_args = parse_args(argv[1:])

    from zssbir_core.api import tune_malloc

    malloc = tune_malloc()  # before torch allocates anything: see zssbir_core/cpu_allocator.py

    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from zssbir_desktop.settings.preferences import APPLICATION, ORGANIZATION, library_directory, load_preferences

    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QApplication.setDesktopFileName("io.github.zssbir.zssbir")
    app = QApplication([argv[0], *qt_args])

    from zssbir_desktop.engine import Engine
    from zssbir_desktop.error_log import ErrorReporter, setup_logging
    from zssbir_desktop.theme import apply_theme
    from zssbir_desktop.window.main_window import MainWindow

    setup_logging()
    logging.getLogger("zssbir_core.cpu_allocator").log(
        logging.INFO if malloc.applied else logging.WARNING, "malloc tuning: %s", malloc.detail
    )
    reporter = ErrorReporter()
    reporter.install()
    try:
        from zssbir_desktop.resources_path import app_icon_files

        icon = QIcon()
        for path in app_icon_files():
            icon.addFile(str(path))
        app.setWindowIcon(icon)
    except (ImportError, FileNotFoundError):
        pass
    prefs = load_preferences()
    apply_theme(app, prefs.theme)
    engine = Engine()
    window = MainWindow(
        engine,
        prefs,
        library_directory(prefs, args.library),
        apply_theme=lambda theme: apply_theme(app, theme),
    )
    reporter.error.connect(lambda _title, message: window.show_error(message))
    from zssbir_desktop.finetune import install_fine_tuning

    install_fine_tuning(window)  # Settings -> Fine-tuning page and "stop training?" on close
    window.show()
    if args.startup_probe:

        def report(event: str, quit_now: bool) -> None:
            print(f"{event} {time.perf_counter() - _STARTED:.3f}", flush=True)
            if quit_now:
                window.close()

        QTimer.singleShot(0, lambda: report("window-shown", args.startup_probe == "window"))
        engine.model_ready.connect(lambda _embedder: report("model-ready", True))
        engine.model_failed.connect(lambda error: report(f"model-failed {error}", True))
    if args.startup_probe != "window":
        QTimer.singleShot(0, window.start)
    close_on_signals(window)
    return app.exec()


def close_on_signals(window: QWidget) -> None:
    """Ctrl+C in a terminal and SIGTERM (logout, ``kill``) close the window the normal way, so a
    running indexing stops safely. A short timer lets Python see the signal while Qt waits."""
    import signal

    from PySide6.QtCore import QTimer

    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: QTimer.singleShot(0, window.close))
    heartbeat = QTimer(window)
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(250)
