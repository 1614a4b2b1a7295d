"""The ResNet50 weights download, against a local HTTP server (tests never touch the network)."""

import hashlib
import http.server
import socket
import threading
from functools import partial

import pytest
import torch

from zssbir_core.errors import WeightsUnavailableError
from zssbir_core.models import DownloadCancelled, ensure_resnet50_weights, resnet50_cache_path
from zssbir_core.models.resnet import build_resnet50

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture(autouse=True)
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture()
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    good = f"resnet50-{hashlib.sha256(PAYLOAD).hexdigest()[:8]}.pth"
    (served / good).write_bytes(PAYLOAD)
    (served / "resnet50-00000000.pth").write_bytes(PAYLOAD)
    handler = partial(QuietHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", good
    httpd.shutdown()


def _leftovers():
    folder = resnet50_cache_path().parent
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_reports_progress_and_lands_in_the_cache(server):
    base, name = server
    seen = []
    path = ensure_resnet50_weights(progress=lambda done, total: seen.append((done, total)), url=f"{base}/{name}")
    assert path == resnet50_cache_path() and path.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD)) and len(seen) > 1
    # A second call finds the cached file and downloads nothing.
    assert ensure_resnet50_weights(progress=lambda *a: pytest.fail("downloaded twice"), url="http://unused") == path


def test_cancel_leaves_nothing_behind(server):
    base, name = server
    cancel = threading.Event()
    with pytest.raises(DownloadCancelled):
        ensure_resnet50_weights(progress=lambda done, total: cancel.set(), cancel=cancel, url=f"{base}/{name}")
    assert _leftovers() == []


def test_corrupt_download_is_refused(server):
    base, _ = server
    with pytest.raises(WeightsUnavailableError, match="checksum"):
        ensure_resnet50_weights(url=f"{base}/resnet50-00000000.pth")
    assert _leftovers() == []


def test_offline_error_says_where_the_file_comes_from():
    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(WeightsUnavailableError) as info:
        ensure_resnet50_weights(url=f"http://127.0.0.1:{port}/resnet50-0676ba61.pth", timeout=5)
    message = str(info.value)
    assert "download.pytorch.org" in message and "--weights" in message and "'default' model" in message
    assert _leftovers() == []


def test_no_cached_file_and_no_download_never_falls_back_to_random_weights():
    with pytest.raises(WeightsUnavailableError, match="no cached file"):
        build_resnet50(None, pretrained=True, download=False)
