"""Getting a model: the ResNet50 download dialog (against a local HTTP server), its Cancel, and
the plain offline message with its ways forward (the default model, a weights file, a checkpoint)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QPushButton

from zssbir_core.models.catalog import DEFAULT_MODEL
from zssbir_desktop.engine import Engine
from zssbir_desktop.settings.preferences import Preferences, load_preferences
from zssbir_desktop.window.main_window import MainWindow

WAIT_MS = 120_000


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.endswith("missing.pth"):
            self.send_error(404)
            return
        total = 8 << 20
        self.send_response(200)
        self.send_header("Content-Length", str(total))
        self.end_headers()
        try:
            for _ in range(total >> 16):  # slow: 64 KiB every 50 ms
                self.wfile.write(b"\0" * (1 << 16))
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def resnet_window(qtbot, tmp_path, monkeypatch) -> MainWindow:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    window = MainWindow(
        Engine(), Preferences(model="resnet50-imagenet", rescan_on_start=False), tmp_path / "lib", QSettings()
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.mark.slow
def test_offline_says_so_and_offers_the_default_model(qtbot, resnet_window, server, tmp_path) -> None:
    window = resnet_window
    window.models.weights_url = f"{server}/missing.pth"
    window.models.load_model()
    qtbot.waitUntil(lambda: "not available" in window.message_bar.text(), timeout=WAIT_MS)
    buttons = window.message_bar.button_texts()
    assert {"Use the default model (offline)", "Choose a weights file…", "Choose a checkpoint…"} <= set(buttons)
    assert not list((tmp_path / "torch").rglob("*.pth"))
    with qtbot.waitSignal(window.engine.model_ready, timeout=WAIT_MS):
        window.message_bar.trigger("Use the default model (offline)")
    assert load_preferences(QSettings()).model == DEFAULT_MODEL  # used from now on


def test_download_shows_progress_and_cancel_leaves_nothing(qtbot, resnet_window, server, tmp_path) -> None:
    window = resnet_window
    window.models.weights_url = f"{server}/resnet50-slow.pth"
    progress: list[tuple[int, int]] = []
    window.engine.download_progress.connect(lambda done, total: progress.append((done, total)))
    window.models.load_model()
    qtbot.waitUntil(lambda: len(progress) >= 3, timeout=WAIT_MS)
    dialog = window.downloads.dialog
    assert dialog is not None and dialog.isVisible() and dialog.maximum() == 8 << 20
    cancel_button = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Cancel")
    cancel_button.click()
    qtbot.waitUntil(lambda: "cancelled" in window.message_bar.text(), timeout=WAIT_MS)
    assert not list(Path(tmp_path / "torch").rglob("*.pth"))
    assert "Retry download" in window.message_bar.button_texts()
