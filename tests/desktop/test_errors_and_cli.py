"""Unexpected errors are logged to a file under the data directory and shown in the window;
``zssbir --library DIR`` picks the library."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QSettings

from zssbir_desktop.app import parse_args
from zssbir_desktop.engine import Engine
from zssbir_desktop.error_log import ErrorReporter, log_file, setup_logging
from zssbir_desktop.settings.preferences import Preferences, library_directory
from zssbir_desktop.window.main_window import MainWindow


def test_unexpected_worker_error_is_logged_and_shown(qtbot, tmp_path, isolated_app_state) -> None:
    path = setup_logging()
    try:
        assert path == log_file() and isolated_app_state in path.parents
        window = MainWindow(Engine(), Preferences(), tmp_path / "lib", QSettings())
        qtbot.addWidget(window)
        window.show()

        def broken_search() -> None:
            raise ZeroDivisionError("division by zero in a worker")

        with qtbot.waitSignal(window.engine.search_failed, timeout=10_000):
            window.engine._searches.submit(broken_search)  # the engine's search queue, fed a bug
        text = window.message_bar.text()
        assert "ZeroDivisionError" in text and str(path) in text
        logged = path.read_text()
        assert "Traceback" in logged and "division by zero in a worker" in logged
    finally:
        for handler in list(logging.getLogger("zssbir").handlers):
            logging.getLogger("zssbir").removeHandler(handler)
            handler.close()


def test_uncaught_gui_exception_reaches_the_reporter(qtbot, isolated_app_state) -> None:
    setup_logging()
    reporter = ErrorReporter()
    old_hook = sys.excepthook
    try:
        reporter.install()
        with qtbot.waitSignal(reporter.error) as blocker:
            try:
                raise KeyError("lost")
            except KeyError:
                sys.excepthook(*sys.exc_info())
        assert "KeyError" in blocker.args[1]
        assert "KeyError" in log_file().read_text()
    finally:
        sys.excepthook = old_hook
        for handler in list(logging.getLogger("zssbir").handlers):
            logging.getLogger("zssbir").removeHandler(handler)
            handler.close()


def test_library_option_and_qt_arguments() -> None:
    args, qt_args = parse_args(["--library", "~/photos-lib", "-platform", "offscreen"])
    assert qt_args == ["-platform", "offscreen"]
    assert (
        library_directory(Preferences(library_dir="/elsewhere"), args.library)
        == Path("~/photos-lib").expanduser()
    )
    assert library_directory(Preferences(library_dir="/elsewhere")) == Path("/elsewhere")
