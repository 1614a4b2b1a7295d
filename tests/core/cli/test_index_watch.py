"""``zssbir-cli index --watch`` in a real child process: it indexes, then picks up a photo copied into
the folder within seconds, drops a deleted one, and stops cleanly (exit 0) on Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, sigint_as_at_a_terminal
from tests.core.library_helpers import SMALL_SIZE, copy_photos
from zssbir_core.library import PhotoLibrary


def photo_count(library: Path) -> int:
    with PhotoLibrary.open(library, create=False) as opened:
        return opened.photo_count()


def wait_for(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
@pytest.mark.subprocess
def test_watch_indexes_changes_until_ctrl_c(tmp_path, sketchy_root) -> None:
    photos, library = tmp_path / "photos", tmp_path / "library"
    copy_photos(sketchy_root, photos, {"apple": 2})
    code = "import sys; from zssbir_core.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "ZSSBIR_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", code, "index", "--library", str(library), "--add", str(photos), "--watch",
         "--model", "lite0-imagenet", "--image-size", str(SMALL_SIZE), "--device", "cpu", "--progress", "none"],
        env=env, stderr=subprocess.PIPE, text=True, preexec_fn=sigint_as_at_a_terminal)
    try:
        lines = []
        for line in child.stderr:
            lines.append(line)
            if line.startswith("watching 1 folder for"):
                break
        assert photo_count(library) == 2, "".join(lines)
        shutil.copy(sorted((sketchy_root / "photo" / "bear").glob("*.jpg"))[0], photos / "apple" / "new.jpg")
        assert wait_for(lambda: photo_count(library) == 3, 10), "".join(lines)
        (photos / "apple" / "new.jpg").unlink()
        assert wait_for(lambda: photo_count(library) == 2, 10)
        child.send_signal(signal.SIGINT)
        _, rest = child.communicate(timeout=20)
        assert child.returncode == 0, rest
        assert "stopped watching" in rest
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
