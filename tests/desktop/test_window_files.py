"""Files in and out of the window: dropped folders and images, saved sketches, and closing the
app while it indexes (it stops safely and the next start resumes)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage

from tests.desktop.fixtures import copy_photos
from tests.desktop.test_main_window import CIRCLE, WAIT_MS, draw, make_window
from zssbir_core.library import PhotoLibrary
from zssbir_desktop.settings.preferences import Preferences


def drop(window, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(300, 300),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)


def test_dropping_a_folder_adds_and_indexes_it(qtbot, tmp_path, sketchy_root, small_embedder) -> None:
    window = make_window(qtbot, tmp_path, small_embedder)
    folder = copy_photos(sketchy_root, tmp_path / "dropped", per_class=1)
    with qtbot.waitSignal(window.engine.indexing_finished, timeout=WAIT_MS):
        drop(window, [folder])
    assert window.engine.folders() == [(str(folder), 4)]


def test_dropping_an_image_makes_it_the_query(qtbot, tmp_path, sketchy_root) -> None:
    window = make_window(qtbot, tmp_path)
    sketch = sorted((sketchy_root / "sketch" / "apple").glob("*.png"))[0]
    drop(window, [sketch])
    assert window.canvas.query_path() == sketch
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG broken")
    drop(window, [broken])
    assert "cannot be used" in window.message_bar.text()
    assert window.canvas.query_path() == sketch  # the bad file changed nothing


def test_save_sketch_as_png_and_report_failure(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    draw(qtbot, window, CIRCLE)
    target = tmp_path / "out" / "my sketch"
    target.parent.mkdir()
    assert window.query.save_sketch_to(target)
    saved = QImage(str(target.with_suffix(".png")))
    assert saved.width() == saved.height() == 256
    assert not window.query.save_sketch_to(tmp_path / "no-such-folder" / "x.png")
    assert "could not be saved" in window.message_bar.text()


def test_closing_during_indexing_stops_safely_and_next_start_resumes(
    qtbot, tmp_path, shared_sketchy_root, small_embedder
) -> None:
    window = make_window(qtbot, tmp_path, small_embedder)
    folder = copy_photos(shared_sketchy_root, tmp_path / "photos", per_class=25)

    def close_on_first_batch(event) -> None:
        if event.phase == "embed" and event.done > 0 and window.isVisible():
            window.close()

    window.engine.indexing_progress.connect(close_on_first_batch)
    window.library.add_folder(folder)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)
    assert window.engine.library is None and not window.engine.indexing()
    with PhotoLibrary.open(tmp_path / "library") as library:
        assert 0 < library.photo_count() < 100
    again = make_window(qtbot, tmp_path, prefs=Preferences(model="lite0-imagenet", rescan_on_start=False))
    assert again.engine.library.indexing_unfinished  # the library remembers, not QSettings
    with qtbot.waitSignal(again.engine.indexing_finished, timeout=WAIT_MS) as blocker:
        again.engine.set_embedder(small_embedder)  # the model arrives: the unfinished run resumes
    assert blocker.args == [False]
    assert again.engine.library.photo_count() == 100


def test_skipped_files_are_listed_with_reasons(qtbot, tmp_path, sketchy_root, small_embedder) -> None:
    from zssbir_desktop.library.panel import SkippedFilesDialog

    window = make_window(qtbot, tmp_path, small_embedder)
    folder = copy_photos(sketchy_root, tmp_path / "photos", per_class=1)
    (folder / "truncated.jpg").write_bytes(
        (folder / next(iter(sorted(p.name for p in folder.iterdir())))).read_bytes()[:300]
    )
    (folder / "empty.png").write_bytes(b"")
    with qtbot.waitSignal(window.engine.indexing_finished, timeout=WAIT_MS):
        window.library.add_folder(folder)
    assert window.library_panel.skipped_button.isVisible()
    assert window.library_panel.skipped_button.text().startswith("2 skipped files")
    dialog = SkippedFilesDialog(window.engine.skipped())
    qtbot.addWidget(dialog)
    rows = {
        Path(dialog.table.item(r, 0).text()).name: dialog.table.item(r, 1).text()
        for r in range(dialog.table.rowCount())
    }
    assert set(rows) == {"truncated.jpg", "empty.png"} and all(rows.values())
