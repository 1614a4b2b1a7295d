"""The Fine-tuning page with the real trainer in a real child process (tiny settings: seconds, not minutes)."""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from PySide6.QtWidgets import QMessageBox

from zssbir_core import paths
from zssbir_core.api import StepEvent
from zssbir_core.errors import ZssbirError
from zssbir_core.models.store import ModelStore
from zssbir_desktop.finetune import FineTuneController, FineTunePanel, LossPlot, confirm_close, starting_models

TINY = {"image_size": 64, "epochs": 1, "batches_per_epoch": 2, "classes_per_batch": 2, "samples_per_domain": 1}
CURRENT = "lite0-imagenet"
RUN_TIMEOUT_MS = 240_000


def _shapes_folder(root: Path, per_class: int = 6) -> Path:
    """Photos only: three classes of coloured shapes on grey (``ROOT/<class>/*.png``)."""
    rng = random.Random(0)
    for shape in ("circle", "square", "triangle"):
        folder = root / shape
        folder.mkdir(parents=True)
        for index in range(per_class):
            image = Image.new("RGB", (96, 96), (rng.randint(150, 255),) * 3)
            draw = ImageDraw.Draw(image)
            x = rng.randint(8, 30)
            colour = tuple(rng.randint(0, 120) for _ in range(3))
            if shape == "circle":
                draw.ellipse((x, x, x + 50, x + 50), fill=colour)
            elif shape == "square":
                draw.rectangle((x, x, x + 50, x + 50), fill=colour)
            else:
                draw.polygon([(x, x + 50), (x + 25, x), (x + 50, x + 50)], fill=colour)
            image.save(folder / f"{index}.png")
    return root


@pytest.fixture()
def controller(qtbot):
    controller = FineTuneController(lambda: CURRENT, settings_override=TINY)
    yield controller
    controller.shutdown()


@pytest.fixture()
def panel(qtbot, controller):
    panel = FineTunePanel(controller, starting_models=starting_models(controller, CURRENT), devices={"cpu": "CPU"})
    qtbot.addWidget(panel)
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cpu"))
    return panel


def _check(qtbot, panel: FineTunePanel, folder: Path) -> None:
    panel.folder_edit.setText(str(folder))
    with qtbot.waitSignal(panel.controller.check_finished, timeout=30_000):
        panel.check_button.click()


def _leftover_runs() -> list[Path]:
    runs = paths.cache_dir() / "finetune"
    return list(runs.iterdir()) if runs.is_dir() else []


def test_a_bad_folder_is_refused_with_a_clear_message(qtbot, panel: FineTunePanel, tmp_path: Path) -> None:
    not_a_dataset = tmp_path / "notes"
    not_a_dataset.mkdir()
    (not_a_dataset / "readme.txt").write_text("no images here")
    panel.folder_edit.setText(str(not_a_dataset))
    with qtbot.waitSignal(panel.controller.check_failed, timeout=30_000):
        panel.check_button.click()
    assert "cannot be used" in panel.summary_label.text() and "not a dataset" in panel.summary_label.text()
    assert not panel.start_button.isEnabled()

    panel.folder_edit.setText(str(tmp_path / "missing"))
    panel.check_button.click()
    assert "is not a folder" in panel.summary_label.text()

    one_class = tmp_path / "one"
    _shapes_folder(one_class)
    for shape in ("square", "triangle"):
        for file in (one_class / shape).iterdir():
            file.unlink()
        (one_class / shape).rmdir()
    (one_class / "circle" / "broken.jpg").write_bytes(b"not a jpeg")
    _check(qtbot, panel, one_class)
    text = panel.summary_label.text()
    assert "at least 2 classes" in text and "broken.jpg" in text and "too few photos" not in text
    assert not panel.start_button.isEnabled()


def test_the_report_lists_classes_and_counts(qtbot, panel: FineTunePanel, tmp_path: Path) -> None:
    _check(qtbot, panel, _shapes_folder(tmp_path / "shapes", per_class=4))
    assert panel.class_table.rowCount() == 3
    assert [panel.class_table.item(r, 1).text() for r in range(3)] == ["4", "4", "4"]
    assert "photos only" in panel.summary_label.text() and "too few photos" in panel.summary_label.text()
    assert panel.start_button.isEnabled()


@pytest.mark.slow
@pytest.mark.subprocess
def test_estimate_then_a_tiny_fine_tune_in_a_child_process_registers_a_model(
        qtbot, panel: FineTunePanel, controller: FineTuneController, tmp_path: Path) -> None:
    from zssbir_core.finetuning.estimate import WARMUP_STEPS, recipe_steps, recipe_time_budget_s

    _check(qtbot, panel, _shapes_folder(tmp_path / "shapes"))
    steps = []
    controller.runner.training_event.connect(lambda event: steps.append(event) if isinstance(event, StepEvent) else None)
    with qtbot.waitSignal(controller.estimate_finished, timeout=RUN_TIMEOUT_MS) as estimated:
        panel.estimate_button.click()
    estimate = estimated.args[0]
    assert len(steps) == WARMUP_STEPS, "the warm-up runs a few real steps"
    budget = recipe_time_budget_s("quick")
    capped = budget is not None and recipe_steps("quick") * estimate.step_seconds > budget
    assert estimate.recipe == "quick"
    assert estimate.steps == (max(1, int(budget / estimate.step_seconds)) if capped else recipe_steps("quick")), (
        "the recipe's steps, or as many as its time budget allows on a slow machine")
    assert estimate.seconds > estimate.steps * estimate.step_seconds > 0
    assert panel.estimate_label.text().startswith("Estimated time: about")
    assert ModelStore().list() == [], "a warm-up registers nothing"

    with qtbot.waitSignal(controller.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        panel.start_button.click()
        assert panel.cancel_button.isEnabled() and not panel.start_button.isEnabled()
    status, message = finished.args
    assert status == "completed", message
    models = ModelStore().list()
    assert len(models) == 1
    figures = models[0].figures
    assert figures["baseline_model"] == CURRENT
    assert 0.0 <= figures["model"]["map_all"] <= 1.0 and 0.0 <= figures["baseline"]["map_all"] <= 1.0
    assert figures["model"]["queries"] == figures["baseline"]["queries"] > 0, "same held-out data for both"
    assert models[0].data_folder == str(tmp_path / "shapes")
    assert "added" in panel.status_label.text()
    assert panel.model_table.rowCount() == 1 and "(" in panel.model_table.item(0, 2).text()
    assert panel.progress_bar.value() == panel.progress_bar.maximum() == 2
    assert len(panel.loss_plot.points()) == 2
    assert _leftover_runs() == [], "the run's temporary folder is removed"


def _start_and_wait_for_the_child(qtbot, panel: FineTunePanel, controller: FineTuneController,
                                  first_event: bool = False) -> None:
    """Start a run; return once the child process exists (or once it reported its first event)."""
    signal_ = controller.runner.training_event if first_event else controller.runner.started
    with qtbot.waitSignal(signal_, timeout=120_000):
        panel.start_button.click()
    assert controller.runner.pid() > 0


@pytest.mark.slow
@pytest.mark.subprocess
def test_cancel_stops_within_seconds_and_keeps_the_old_model(
        qtbot, panel: FineTunePanel, controller: FineTuneController, tmp_path: Path) -> None:
    _check(qtbot, panel, _shapes_folder(tmp_path / "shapes"))
    _start_and_wait_for_the_child(qtbot, panel, controller, first_event=True)
    with qtbot.waitSignal(controller.run_finished, timeout=15_000) as finished:
        panel.cancel_button.click()
    assert finished.args[0] == "cancelled"
    assert "cancelled" in panel.status_label.text()
    assert ModelStore().list() == [] and controller.current_model() == CURRENT
    assert _leftover_runs() == []
    assert panel.start_button.isEnabled() and not panel.cancel_button.isEnabled()


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_killed_child_is_reported_and_nothing_changes(
        qtbot, panel: FineTunePanel, controller: FineTuneController, tmp_path: Path) -> None:
    _check(qtbot, panel, _shapes_folder(tmp_path / "shapes"))
    _start_and_wait_for_the_child(qtbot, panel, controller)
    with qtbot.waitSignal(controller.run_finished, timeout=15_000) as finished:
        os.kill(controller.runner.pid(), signal.SIGKILL)
    status, message = finished.args
    assert status == "crashed" and "stopped unexpectedly" in message
    assert "stopped unexpectedly" in panel.status_label.text()
    assert ModelStore().list() == [] and controller.current_model() == CURRENT
    assert _leftover_runs() == []


@pytest.mark.slow
@pytest.mark.subprocess
def test_closing_during_training_asks_whether_to_stop(
        qtbot, panel: FineTunePanel, controller: FineTuneController, tmp_path: Path, monkeypatch) -> None:
    assert confirm_close(panel, controller), "nothing runs: close without asking"
    _check(qtbot, panel, _shapes_folder(tmp_path / "shapes"))
    _start_and_wait_for_the_child(qtbot, panel, controller)
    answers = []

    def answer(choice: QMessageBox.StandardButton):
        def ask(*args, **kwargs):
            answers.append(args[2] if len(args) > 2 else "")
            return choice
        return ask

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    assert not confirm_close(panel, controller) and controller.is_training()
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    assert confirm_close(panel, controller)
    assert not controller.is_training() and _leftover_runs() == []
    assert all("Stop it and quit" in text for text in answers) and len(answers) == 2


def test_store_actions_from_the_model_list(qtbot, panel: FineTunePanel, controller: FineTuneController,
                                           tmp_path: Path) -> None:
    from zssbir_core.models import ZSSBIRNet, build_backbone, save_checkpoint

    net = ZSSBIRNet(build_backbone("efficientnet_lite0", pretrained=False), embedding_dim=8)
    checkpoint = save_checkpoint(net, tmp_path / "ckpt", classes=["a", "b"])
    used = controller.store.add(checkpoint, name="in use")
    controller.current_model = lambda: str(used.checkpoint_dir)
    controller.store.add(checkpoint, name="spare", figures={"model": {"map_all": 0.5, "p_10": 0.6},
                                                           "baseline": {"map_all": 0.25, "p_10": 0.3}})
    panel.refresh_models()
    assert panel.model_table.rowCount() == 2
    assert panel.model_table.item(0, 0).text().endswith("(in use)")
    assert panel.model_table.item(1, 2).text() == "0.500 (0.250)"
    panel.select_model(used.key)
    panel._store_action(lambda: controller.store.delete(used.key, in_use=controller.current_model()))
    assert "in use" in panel.models_message.text() and panel.model_table.rowCount() == 2


def test_loss_plot_paints_a_long_run(qtbot) -> None:
    plot = LossPlot(max_points=100)
    qtbot.addWidget(plot)
    plot.clear(total_steps=500)
    for step in range(1, 501):
        plot.add_point(step, 5.0 / step)
    plot.add_point(501, float("nan"))
    assert 50 <= len(plot.points()) <= 100 and plot.points()[-1][0] == 500
    plot.resize(300, 120)
    assert not plot.grab().isNull()


@pytest.mark.slow
def test_use_this_model_reembeds_in_the_background_then_switches(qtbot, tmp_path: Path, sketchy_root,
                                                                 small_embedder) -> None:
    from PySide6.QtCore import QSettings

    from zssbir_core.models import ZSSBIRNet, build_backbone, save_checkpoint
    from zssbir_desktop.engine import Engine
    from zssbir_desktop.finetune import install_fine_tuning
    from zssbir_desktop.settings.preferences import Preferences, load_preferences
    from zssbir_desktop.window.main_window import MainWindow

    from .fixtures import copy_photos

    window = MainWindow(Engine(), Preferences(model="lite0-imagenet", rescan_on_start=False), tmp_path / "library",
                        QSettings())
    qtbot.addWidget(window)
    window.library.open_library(window.library.library_dir)
    window.engine.set_embedder(small_embedder)
    with qtbot.waitSignal(window.engine.indexing_finished, timeout=120_000):
        window.library.add_folder(copy_photos(sketchy_root, tmp_path / "photos", per_class=2))
    controller = install_fine_tuning(window).controller
    dialog = window.settings_dialog()
    assert "Fine-tuning" in [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
    dialog.deleteLater()

    backbone = build_backbone("efficientnet_lite0", pretrained=False)
    net = ZSSBIRNet(backbone, embedding_dim=16)
    checkpoint = save_checkpoint(net, tmp_path / "ckpt", classes=["a", "b"],
                                 preprocessing=backbone.preprocessing.with_size(64))
    stored = controller.store.add(checkpoint, name="mine")
    old_id = window.engine.library.model_id
    engine = window.engine

    with qtbot.waitSignal(engine.switch_failed, timeout=60_000):
        engine.switch_model(str(stored.checkpoint_dir))
        engine.cancel_switch()
    assert window.engine.embedder is small_embedder and window.engine.library.model_id == old_id

    with qtbot.waitSignal(engine.model_switched, timeout=120_000):
        engine.switch_model(str(stored.checkpoint_dir))
        assert window.engine.embedder is small_embedder, "search keeps the old model meanwhile"
    assert window.engine.embedder.model_id == stored.model_id == window.engine.library.model_id
    assert window.preferences.current.model == str(stored.checkpoint_dir) == load_preferences().model
    results = window.engine.library.search_vectors(window.engine.embedder.embed_images(
        [Image.new("RGB", (64, 64), "white")])[0], k=3)
    assert len(results) == 3
    window.close()


@pytest.mark.slow
@pytest.mark.subprocess
def test_checking_the_folder_during_a_run_never_deletes_the_running_work_folder(
        qtbot, panel: FineTunePanel, controller: FineTuneController, tmp_path: Path) -> None:
    """Issue 21 item 2: Enter in the data-folder field (or Browse) during a run called ``check_folder``,
    whose result deleted the running work folder, and the run died on its missing ``.resume-…``."""
    from PySide6.QtCore import Qt

    _check(qtbot, panel, _shapes_folder(tmp_path / "shapes"))
    _start_and_wait_for_the_child(qtbot, panel, controller)
    workdir = controller._workdir
    assert workdir is not None and workdir.is_dir()
    assert not panel.folder_edit.isEnabled() and not panel.browse_button.isEnabled()
    checks: list[str] = []
    controller.check_finished.connect(lambda _report: checks.append("finished"))
    controller.check_failed.connect(checks.append)
    panel.folder_edit.setEnabled(True)  # as if the field had kept the focus: Enter must still be harmless
    qtbot.keyClick(panel.folder_edit, Qt.Key.Key_Return)
    panel.check_folder()  # what Browse calls
    with pytest.raises(ZssbirError, match="run is going on"):
        controller.check_folder(tmp_path / "shapes")  # and the controller itself, directly
    qtbot.wait(3000)
    assert workdir.is_dir(), "the running run's folder is still there"
    assert "finished" not in checks and controller.report is not None and controller.report.ok
    with qtbot.waitSignal(controller.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    assert finished.args[0] == "completed", finished.args[1]
    assert panel.folder_edit.isEnabled() and panel.browse_button.isEnabled()
