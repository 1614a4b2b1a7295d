"""Screenshots of the real app for the README, taken from inside the app under Xvfb.

    xvfb-run -s "-screen 0 1400x900x24" python scripts/screenshots.py

Sets up a demo library from real Sketchy photos (three folders), starts the app as a first-time
user would (the default model, which ships inside zssbir, loads with no download), indexes
the folders, replays a real Sketchy sketch of a bicycle stroke by stroke on the canvas, waits for
the results, and saves PNGs of the window and the settings dialog in ``docs/screenshots/``.
Everything runs in a scratch directory (data, settings, torch cache), never the user's own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "sketchy-seen100"
FOLDERS = {
    "Holidays": ("castle", "sailboat", "umbrella", "hat"),
    "Around the house": ("chair", "teapot", "shoe", "guitar"),
    "Commute": ("bicycle", "motorcycle", "car_(sedan)", "apple"),
}
SKETCH = ("bicycle", "n02834778_12174-5.png")
PHOTOS_PER_CLASS = 10


def trace_strokes(sketch: Path, side: int = 160) -> list[list[tuple[float, float]]]:
    """Pen strokes (page units) that redraw a sketch image: greedy walks along its dark pixels,
    each walk continuing in the direction it came from where it can, marking what it covered."""
    import numpy as np
    from PIL import Image

    ink = np.asarray(Image.open(sketch).convert("L").resize((side, side), Image.Resampling.BOX)) < 170
    free = ink.copy()
    steps = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
    strokes: list[list[tuple[float, float]]] = []
    for y0, x0 in zip(*np.nonzero(ink)):
        if not free[y0, x0]:
            continue
        y, x, direction = int(y0), int(x0), (0, 0)
        points = [(x, y)]
        free[y, x] = False
        while True:
            options = [
                (dy, dx)
                for dy, dx in steps
                if 0 <= y + dy < side and 0 <= x + dx < side and free[y + dy, x + dx]
            ]
            if not options:
                break
            dy, dx = max(options, key=lambda s: s[0] * direction[0] + s[1] * direction[1])
            for ny, nx in ((y + sy, x + sx) for sy, sx in steps):  # thin: the walk covers its sides
                if 0 <= ny < side and 0 <= nx < side and (ny, nx) != (y + dy, x + dx):
                    free[ny, nx] = False
            y, x, direction = y + dy, x + dx, (dy, dx)
            free[y, x] = False
            points.append((x, y))
        if len(points) >= 3:
            strokes.append([((px + 0.5) / side, (py + 0.5) / side) for px, py in points[::2] + [points[-1]]])
    return strokes


def make_demo_photos(data: Path, target: Path) -> list[Path]:
    """Copy real photos into three folders named like a person's own."""
    folders = []
    for name, classes in FOLDERS.items():
        folder = target / name
        folder.mkdir(parents=True, exist_ok=True)
        for cls in classes:
            for photo in sorted((data / "photo" / cls).glob("*.jpg"))[:PHOTOS_PER_CLASS]:
                shutil.copy2(photo, folder / f"{cls.split('_')[0]}-{photo.stem.rsplit('_', 1)[-1]}.jpg")
        folders.append(folder)
    return folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the sketchy-seen100 folder")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args(argv)
    if not (args.data / "photo").is_dir():
        print(f"no photos at {args.data}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="zssbir-shots-"))
    os.environ["ZSSBIR_DATA_DIR"] = str(work / "data")
    os.environ["TORCH_HOME"] = str(work / "torch")  # no cached ResNet50: the first-run offline path
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QCoreApplication, QPointF, QSettings, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName("zssbir-screenshots")
    QCoreApplication.setApplicationName("zssbir")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    app = QApplication(["zssbir"])

    from zssbir_desktop.engine import Engine
    from zssbir_desktop.settings.preferences import Preferences
    from zssbir_desktop.theme import apply_theme
    from zssbir_desktop.window.main_window import MainWindow

    apply_theme(app, "light")
    window = MainWindow(
        Engine(),
        Preferences(rescan_on_start=False),
        work / "data" / "library",
        apply_theme=lambda theme: apply_theme(app, theme),
    )
    from zssbir_desktop.finetune import install_fine_tuning

    install_fine_tuning(window)  # as zssbir does: Settings gets its Fine-tuning page
    window.resize(1400, 860)
    window.show()
    QTest.qWaitForWindowExposed(window)

    def wait_until(condition, what: str, timeout_s: float = 300) -> None:
        waited = 0.0
        while not condition():
            QTest.qWait(50)
            waited += 0.05
            if waited > timeout_s:
                raise SystemExit(f"timed out waiting for {what}")

    def save(widget, name: str) -> None:
        QTest.qWait(300)
        path = args.out / name
        widget.grab().save(str(path))
        print(f"wrote {path}")

    # 1. First run: empty library; the default model loads offline, no banner.
    window.start()
    wait_until(lambda: window.engine.embedder is not None, "the model")
    save(window, "first-run.png")

    # 2. Add three folders. While they are indexed, draw a real Sketchy sketch stroke by stroke:
    #    results come from what is indexed so far.
    folders = make_demo_photos(args.data, work / "photos")
    halfway: list[bool] = []
    window.engine.indexing_progress.connect(
        lambda e: halfway.append(True) if e.phase == "embed" and e.total and e.done >= e.total // 2 else None
    )
    for folder in folders:
        window.engine.add_folder(folder)
    window.library.start_indexing()
    wait_until(lambda: bool(halfway), "half of the photos")
    window.width_spin.setValue(3)
    sketch = args.data / "sketch" / SKETCH[0] / SKETCH[1]
    for stroke in trace_strokes(sketch):
        window.canvas.add_stroke([QPointF(x, y) for x, y in stroke])
    shown: list[int] = []
    searching: list[bool] = [False]
    window.results_shown.connect(shown.append)
    window.engine.searching.connect(searching.append)
    wait_until(lambda: bool(shown), "results during indexing")
    model = window.results_model
    wait_until(
        lambda: all(
            model.index(r).data(Qt.ItemDataRole.DecorationRole) is not None
            for r in range(min(9, model.rowCount()))
        ),
        "thumbnails",
    )
    if window.engine.indexing():
        save(window, "library-indexing.png")
    wait_until(lambda: not window.engine.indexing(), "indexing")

    # 3. The finished library: the same sketch, its results, the best one previewed.
    shown.clear()
    wait_until(lambda: bool(shown) and not searching[-1], "results")
    wait_until(
        lambda: all(
            model.index(r).data(Qt.ItemDataRole.DecorationRole) is not None
            for r in range(min(12, model.rowCount()))
        ),
        "thumbnails",
    )
    window.results_pane.results_view.setCurrentIndex(model.index(0))
    wait_until(lambda: window.results_pane.preview._pixmap is not None, "the preview")
    save(window, "search-results.png")

    # 4. Settings, on the Model page.
    dialog = window.settings_dialog()
    dialog.tabs.setCurrentIndex(2)
    dialog.show()
    QTest.qWaitForWindowExposed(dialog)
    save(dialog, "settings.png")
    dialog.close()

    # 5. The same window in the dark theme (the canvas stays white).
    apply_theme(app, "dark")
    window.results_pane.results_view.viewport().update()
    save(window, "dark-theme.png")

    window.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
