"""The app without torch, run by ``tests/test_without_torch.py`` in a child pytest whose imports of
torch fail: the real window loads the default model (ONNX Runtime), indexes real photos, searches a
drawing and finds similar photos; the Fine-tuning page says how to add training."""

from __future__ import annotations

import sys

from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication

from tests.desktop.fixtures import copy_photos
from tests.desktop.test_main_window import CIRCLE, STEM, WAIT_MS, draw, index_folder
from zssbir_desktop.engine import Engine
from zssbir_desktop.settings.preferences import Preferences
from zssbir_desktop.window.main_window import MainWindow


def test_the_window_indexes_and_searches_without_torch(qtbot, tmp_path, sketchy_root) -> None:
    window = MainWindow(Engine(), Preferences(model="default", rescan_on_start=False), tmp_path / "library", QSettings())
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.engine.model_ready, timeout=WAIT_MS) as ready:
        window.start()  # as the app does once the window shows: open the library, load the model
    assert "onnxruntime" in ready.args[0].runtime
    index_folder(qtbot, window, copy_photos(sketchy_root, tmp_path / "photos", per_class=2))
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS) as shown:
        draw(qtbot, window, CIRCLE + STEM)
    assert shown.args[0] > 0
    first = window.results_model.results()[0]
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS) as similar:
        window._search_similar(first.id, None)
    similar_ids = [result.id for result in window.results_model.results()]
    assert similar.args[0] == shown.args[0] - 1 and first.id not in similar_ids  # every other photo, ranked
    assert not [name for name in sys.modules if name.split(".")[0] in ("torch", "torchvision")]


def test_the_fine_tuning_page_says_how_to_add_training(qtbot) -> None:
    from zssbir_core.api import training_installed
    from zssbir_desktop.finetune.not_installed import TrainingNotInstalled

    assert not training_installed()
    page = TrainingNotInstalled()
    qtbot.addWidget(page)
    assert "zssbir[train]" in page.label.text() and "PyTorch" in page.label.text()
    page.copy_button.click()
    assert QGuiApplication.clipboard().text() == page.command and "pip install" in page.command
