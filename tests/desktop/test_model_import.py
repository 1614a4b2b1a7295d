"""Importing and exporting models from the Fine-tuning page runs on a worker thread: the page stays
responsive, a bad folder is reported in the page and leaves the store as it was."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from tests.core.hostile_models import BAD_MODEL_JSON, BAD_WEIGHTS
from zssbir_core.models import ZSSBIRNet, build_backbone, save_checkpoint
from zssbir_desktop.finetune import FineTuneController, FineTunePanel, starting_models

CURRENT = "lite0-imagenet"


@pytest.fixture()
def controller(qtbot):
    controller = FineTuneController(lambda: CURRENT)
    yield controller
    controller.shutdown()


@pytest.fixture()
def panel(qtbot, controller):
    panel = FineTunePanel(controller, starting_models=starting_models(controller, CURRENT), devices={"cpu": "CPU"})
    qtbot.addWidget(panel)
    return panel


@pytest.fixture()
def checkpoint(tmp_path: Path) -> Path:
    net = ZSSBIRNet(build_backbone("efficientnet_lite0", pretrained=False), embedding_dim=8, num_classes=2)
    return save_checkpoint(net, tmp_path / "shared" / "pets", classes=["cat", "dog"])


def _finish(qtbot, panel: FineTunePanel, start) -> tuple[bool, str]:
    with qtbot.waitSignal(panel.controller.store_action_finished, timeout=60_000) as blocker:
        start()
    return tuple(blocker.args)


def test_import_runs_off_the_gui_thread_and_lists_the_model(qtbot, panel: FineTunePanel, checkpoint: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    store = panel.controller.store
    threads: list[threading.Thread] = []
    original = store.import_checkpoint

    def recording(*args, **kwargs):
        threads.append(threading.current_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(store, "import_checkpoint", recording)
    ok, message = _finish(qtbot, panel, lambda: panel.import_from(checkpoint))
    assert threads and threads[0] is not threading.main_thread()
    assert ok and "pets" in message and panel.models_message.text() == message
    assert panel.model_table.rowCount() == 1 and panel.import_button.isEnabled()


def test_import_button_is_disabled_while_an_import_runs(qtbot, panel: FineTunePanel, checkpoint: Path) -> None:
    with qtbot.waitSignal(panel.controller.store_action_finished, timeout=60_000):
        panel.import_from(checkpoint)
        assert not panel.import_button.isEnabled()
        assert "importing" in panel.models_message.text().lower()
    assert panel.import_button.isEnabled()


@pytest.mark.parametrize("kind", ["a list", "image_size 1000000"])
def test_a_bad_model_json_is_reported_in_the_page(qtbot, panel: FineTunePanel, checkpoint: Path, tmp_path: Path,
                                                   kind: str) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(checkpoint, bad)
    BAD_MODEL_JSON[kind](bad)
    ok, message = _finish(qtbot, panel, lambda: panel.import_from(bad))
    assert not ok and "not a valid checkpoint description" in message
    assert panel.models_message.text() == message and panel.model_table.rowCount() == 0
    assert [p for p in panel.controller.store.root.iterdir()] == [] if panel.controller.store.root.exists() else True


def test_bad_weights_and_links_are_reported_and_nothing_is_kept(qtbot, panel: FineTunePanel, checkpoint: Path,
                                                                tmp_path: Path) -> None:
    bad = tmp_path / "truncated"
    shutil.copytree(checkpoint, bad)
    BAD_WEIGHTS["truncated to half"](bad)
    ok, message = _finish(qtbot, panel, lambda: panel.import_from(bad))
    assert not ok and "truncated" in message
    linked = tmp_path / "linked"
    linked.mkdir()
    shutil.copy(checkpoint / "model.json", linked / "model.json")
    (linked / "model.safetensors").symlink_to("/dev/zero")
    ok, message = _finish(qtbot, panel, lambda: panel.import_from(linked))
    assert not ok and "symbolic link" in message
    assert panel.model_table.rowCount() == 0
    root = panel.controller.store.root
    assert not root.exists() or list(root.iterdir()) == []


def test_export_runs_in_the_background_and_refuses_an_existing_folder(qtbot, panel: FineTunePanel,
                                                                      checkpoint: Path, tmp_path: Path) -> None:
    _finish(qtbot, panel, lambda: panel.import_from(checkpoint))
    key = panel.controller.store.list()[0].key
    ok, message = _finish(qtbot, panel, lambda: panel.export_to(key, tmp_path / "exported"))
    assert ok and sorted(p.name for p in (tmp_path / "exported").iterdir()) == ["model.json", "model.safetensors"]
    ok, message = _finish(qtbot, panel, lambda: panel.export_to(key, tmp_path / "exported"))
    assert not ok and "already exists" in message
