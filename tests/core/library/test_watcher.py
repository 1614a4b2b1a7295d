"""The folder watcher (``zssbir_core.library.watcher``) on a real folder with real file system events:
photo changes of every kind call back once things settle; a burst of files is one call; other files
and the library's own folder are ignored."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from zssbir_core.library.watcher import FolderWatcher


class Calls:
    def __init__(self) -> None:
        self.count = 0
        self.event = threading.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()

    def wait(self, seconds: float = 5.0) -> bool:
        happened = self.event.wait(seconds)
        self.event.clear()
        return happened


@pytest.fixture()
def photo(sketchy_root: Path) -> Path:
    return sorted((sketchy_root / "photo" / "cat").glob("*.jpg"))[0]


@pytest.mark.slow
def test_new_changed_moved_and_deleted_photos_call_back(tmp_path, photo) -> None:
    folder = tmp_path / "photos"
    (folder / "2024").mkdir(parents=True)
    calls = Calls()
    watcher = FolderWatcher([folder], calls, quiet_s=0.2).start()
    try:
        shutil.copy(photo, folder / "2024" / "a.jpg")
        assert calls.wait()
        with open(folder / "2024" / "a.jpg", "ab") as file:
            file.write(b"\0")
        assert calls.wait()
        (folder / "2024" / "a.jpg").rename(folder / "b.jpg")
        assert calls.wait()
        (folder / "2024").rename(folder / "2025")
        assert calls.wait()
        (folder / "b.jpg").unlink()
        assert calls.wait()
        (folder / "notes.txt").write_text("not a photo")
        assert not calls.wait(0.6)
    finally:
        watcher.stop()


@pytest.mark.slow
def test_a_camera_import_is_one_call_and_the_library_folder_is_ignored(tmp_path, photo) -> None:
    folder, library = tmp_path / "photos", tmp_path / "photos" / "library"
    library.mkdir(parents=True)
    calls = Calls()
    watcher = FolderWatcher([folder], calls, ignore=[library], quiet_s=0.5).start()
    try:
        shutil.copy(photo, library / "thumb.jpg")
        assert not calls.wait(1.0)
        for i in range(200):
            shutil.copy(photo, folder / f"IMG_{i:04d}.jpg")
        assert calls.wait() and not calls.wait(1.0)
        assert calls.count == 1
    finally:
        watcher.stop()


def test_events_that_keep_coming_still_call_back_after_the_longest_wait(tmp_path, photo) -> None:
    calls = Calls()
    watcher = FolderWatcher([tmp_path], calls, quiet_s=0.5, max_wait_s=0.8).start()
    try:
        started = time.monotonic()
        for i in range(12):  # a new photo every 0.15 s: never 0.5 s quiet
            shutil.copy(photo, tmp_path / f"{i}.jpg")
            if calls.event.is_set():
                break
            time.sleep(0.15)
        assert calls.wait(0.1) and time.monotonic() - started < 1.6
    finally:
        watcher.stop()


def test_set_folders_follows_the_library_and_skips_missing_ones(tmp_path, photo) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    calls = Calls()
    watcher = FolderWatcher([first, tmp_path / "missing"], calls, quiet_s=0.1).start()
    try:
        assert watcher.folders == [str(first)]
        watcher.set_folders([second])
        assert watcher.folders == [str(second)]
        shutil.copy(photo, first / "x.jpg")
        assert not calls.wait(0.5)
        shutil.copy(photo, second / "x.jpg")
        assert calls.wait()
    finally:
        watcher.stop()
