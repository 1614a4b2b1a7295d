"""Folders stay current in the running app: a photo copied into a watched folder is indexed and shows
in the results within 10 s, a deleted one leaves them; real window, library, model and file events."""

from __future__ import annotations

import shutil
import time

import pytest

from tests.desktop.fixtures import copy_photos
from tests.desktop.test_main_window import CIRCLE, WAIT_MS, draw, index_folder, make_window


@pytest.mark.slow
def test_a_photo_copied_into_a_watched_folder_shows_in_the_results_within_10_s(
    qtbot, tmp_path, sketchy_root, small_embedder
) -> None:
    window = make_window(qtbot, tmp_path, small_embedder)
    folder = copy_photos(sketchy_root, tmp_path / "photos", per_class=2)
    index_folder(qtbot, window, folder)
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        draw(qtbot, window, CIRCLE)
    assert window.results_model.rowCount() == 8

    def shown() -> set[str]:
        return {r.path.name for r in window.results_model.results()}

    started = time.monotonic()
    shutil.copy(sorted((sketchy_root / "photo" / "bear").glob("*.jpg"))[0], folder / "new-bear.jpg")
    qtbot.waitUntil(lambda: "new-bear.jpg" in shown(), timeout=10_000)
    assert time.monotonic() - started < 10 and window.results_model.rowCount() == 9
    assert window.engine.library.photo_count() == 9
    (folder / "new-bear.jpg").unlink()
    qtbot.waitUntil(lambda: "new-bear.jpg" not in shown() and window.results_model.rowCount() == 8, timeout=10_000)
