"""kill -9 during indexing, at several points, then reopen and resume: the same library as a clean run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.core.library_helpers import SMALL_SIZE, copy_photos, embedder  # noqa: F401 - fixture
from zssbir_core.library import PhotoLibrary

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]


def _index_and_kill(library: Path, photos: Path, kill_after_done: int, data_dir: Path) -> int:
    """Run ``zssbir-cli index`` in a child process; SIGKILL it once ``done`` reaches the mark."""
    command = [
        sys.executable, "-m", "zssbir_core", "index", "--library", str(library), "--add", str(photos),
        "--model", "lite0-imagenet", "--image-size", str(SMALL_SIZE), "--device", "cpu",
        "--batch-size", "2", "--workers", "2", "--progress", "json",
    ]
    environment = dict(os.environ, ZSSBIR_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO))
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment)
    done = -1
    try:
        for line in child.stdout:
            event = json.loads(line)
            if event["phase"] == "embed" and event["done"] >= kill_after_done:
                done = event["done"]
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return done


def _contents(directory: Path) -> tuple[dict[str, np.ndarray], int]:
    with PhotoLibrary.open(directory) as library:
        rows = library.store._query("SELECT path, id FROM photos")
        vectors = {path: library.vector(photo_id) for path, photo_id in rows}
        assert len(rows) == len({path for path, _ in rows})
        index = library.vector_index()
        assert index.ids() == {photo_id for _, photo_id in rows}
        return vectors, library.store.vector_count(library.model_id)


def test_killed_runs_resume_to_the_same_library(tmp_path, sketchy_root, embedder) -> None:
    photos = tmp_path / "photos"
    copy_photos(sketchy_root, photos, {"apple": 4, "bear": 4, "cabin": 4, "castle": 4})
    crashed = tmp_path / "crashed"
    marks = []
    for kill_after in (0, 4, 10):
        marks.append(_index_and_kill(crashed, photos, kill_after, tmp_path / "data"))
        with PhotoLibrary.open(crashed) as library:  # opens after every kill, holds what was committed
            assert library.photo_count() >= max(0, marks[-1] - 2)
    assert marks[0] == 0 and marks[-1] >= 10

    with PhotoLibrary.open(crashed) as library:
        before = library.photo_count()
        events = list(library.index(embedder, batch_size=4))
        assert events[-1].phase == "done" and events[-1].total == 16 - before

    clean = tmp_path / "clean"
    with PhotoLibrary.open(clean) as library:
        library.add_folder(photos)
        list(library.index(embedder, batch_size=4))

    resumed_vectors, resumed_count = _contents(crashed)
    clean_vectors, clean_count = _contents(clean)
    assert resumed_count == clean_count == 16
    assert resumed_vectors.keys() == clean_vectors.keys()
    for path, vector in clean_vectors.items():
        np.testing.assert_allclose(resumed_vectors[path], vector, atol=1e-4)
