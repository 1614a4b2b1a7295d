"""The store of trained models: add, list, rename, delete (never the one in use), export, import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zssbir_core import paths
from zssbir_core.errors import ModelLoadError
from zssbir_core.models import ZSSBIRNet, build_backbone, load_model, save_checkpoint
from zssbir_core.models.store import ModelStore, ModelStoreError, verify_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A real (randomly initialised) Lite0 checkpoint written by the lead's save_checkpoint."""
    net = ZSSBIRNet(build_backbone("efficientnet_lite0", pretrained=False), embedding_dim=16, num_classes=2)
    return save_checkpoint(net, tmp_path_factory.mktemp("run") / "best", classes=["cat", "dog"],
                           training={"recipe": "quick"}, metrics={"map_all": 0.5})


@pytest.fixture()
def store(tmp_path, monkeypatch) -> ModelStore:
    monkeypatch.setenv("ZSSBIR_DATA_DIR", str(tmp_path / "data"))
    return ModelStore()


def test_store_lives_under_models_dir_and_starts_empty(store: ModelStore) -> None:
    assert store.root == paths.models_dir()
    assert store.list() == []


def test_add_lists_with_name_date_folder_and_figures(store: ModelStore, checkpoint: Path) -> None:
    figures = {"model": {"map_all": 0.61}, "baseline": {"map_all": 0.32}, "classes": ["cat", "dog"]}
    model = store.add(checkpoint, name="My pets", data_folder="/photos/pets", figures=figures)
    assert [m.key for m in store.list()] == [model.key]
    assert model.name == "My pets" and model.data_folder == "/photos/pets"
    assert model.figures == figures and model.classes == ["cat", "dog"]
    assert model.created.endswith("+00:00")
    assert model.model_id.startswith("ckpt-") and model.backbone == "efficientnet_lite0"
    assert load_model(str(model.checkpoint_dir)).model_id == model.model_id
    assert checkpoint.is_dir(), "the training output is copied, not taken"
    assert not [p for p in store.root.iterdir() if p.name.startswith(".")], "no temporary leftovers"


def test_rename_keeps_everything_else(store: ModelStore, checkpoint: Path) -> None:
    model = store.add(checkpoint, name="first")
    renamed = store.rename(model.key, "  Dogs and bikes ")
    assert renamed.name == "Dogs and bikes"
    assert (renamed.key, renamed.model_id, renamed.created) == (model.key, model.model_id, model.created)
    with pytest.raises(ModelStoreError, match="empty"):
        store.rename(model.key, "   ")


def test_delete_refuses_the_model_in_use_and_removes_others(store: ModelStore, checkpoint: Path) -> None:
    used = store.add(checkpoint, name="in use")
    other = store.add(checkpoint, name="other")
    for spec in (str(used.checkpoint_dir), used.model_id):
        with pytest.raises(ModelStoreError, match="in use"):
            store.delete(used.key, in_use=spec)
    store.delete(other.key, in_use=str(used.checkpoint_dir))
    assert [m.key for m in store.list()] == [used.key]
    assert not other.directory.exists()
    with pytest.raises(ModelStoreError, match="no trained model"):
        store.get(other.key)


def test_export_copies_the_checkpoint_and_import_brings_it_back(store: ModelStore, checkpoint: Path,
                                                                 tmp_path: Path) -> None:
    model = store.add(checkpoint, name="to share")
    exported = store.export(model.key, tmp_path / "shared-model")
    assert sorted(p.name for p in exported.iterdir()) == ["model.json", "model.safetensors"]
    with pytest.raises(ModelStoreError, match="already exists"):
        store.export(model.key, exported)
    imported = store.import_checkpoint(exported)
    assert imported.name == "shared-model" and imported.model_id == model.model_id
    assert imported.key != model.key and len(store.list()) == 2


def test_import_refuses_damaged_or_foreign_folders(store: ModelStore, checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not a model checkpoint"):
        store.import_checkpoint(tmp_path)
    damaged = tmp_path / "damaged"
    store.export(store.add(checkpoint).key, damaged)
    weights = damaged / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelLoadError, match="damaged"):
        store.import_checkpoint(damaged)
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "model.safetensors").write_bytes(b"\x80\x04K\x01.")  # a pickle, never unpickled
    (pickled / "model.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ModelLoadError, match="not a valid checkpoint description"):
        verify_checkpoint(pickled)
    assert len(store.list()) == 1, "nothing half-imported is listed"


def test_a_broken_entry_is_left_out_of_the_list(store: ModelStore, checkpoint: Path) -> None:
    good = store.add(checkpoint, name="good")
    broken = store.add(checkpoint, name="broken")
    (broken.directory / "entry.json").write_text("{not json")
    assert [m.key for m in store.list()] == [good.key]
    with pytest.raises(ModelStoreError, match="not a usable model entry"):
        store.get(broken.key)
    with pytest.raises(ModelStoreError, match="not a model key"):
        store.get("../outside")


_KILLED_IMPORT = """
import os, signal, sys, time
from zssbir_core.models import store as store_module
from zssbir_core.models.store import ModelStore

def write_then(checked, directory, source):
    original(checked, directory, source)
    print("COPIED", flush=True)
    if sys.argv[3] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of the import
    time.sleep(60)  # an import still going on

original = store_module._write_checked
store_module._write_checked = write_then
ModelStore(sys.argv[1]).import_checkpoint(sys.argv[2])
"""


def _hidden(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if p.name.startswith(".")]


def _empty_store(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    root.mkdir()
    return root


def _age(folder: Path, seconds: float) -> None:
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (time.time() - seconds,) * 2, follow_symlinks=False)


@pytest.mark.subprocess
@pytest.mark.slow
def test_an_import_killed_midway_leaves_nothing_after_the_next_open(checkpoint: Path, tmp_path: Path) -> None:
    """Issue 21 item 12: SIGKILL during an import left a 12 MB hidden folder in the store for ever."""
    root = _empty_store(tmp_path)
    child = subprocess.run([sys.executable, "-c", _KILLED_IMPORT, str(root), str(checkpoint), "kill"],
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -9 and "COPIED" in child.stdout, child.stderr
    (left,) = _hidden(root)
    ModelStore(root)
    assert _hidden(root) == [left], "a folder changed a moment ago may still be an import that is starting"
    _age(left, 120)
    assert ModelStore(root).list() == [] and _hidden(root) == []


@pytest.mark.subprocess
@pytest.mark.slow
def test_an_import_in_progress_in_another_process_is_left_alone(checkpoint: Path, tmp_path: Path) -> None:
    root = _empty_store(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", _KILLED_IMPORT, str(root), str(checkpoint), "wait"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "COPIED"
        (busy,) = _hidden(root)
        _age(busy, 3600)
        ModelStore(root)
        assert busy.is_dir(), "the living import keeps its folder"
    finally:
        child.kill()
        child.wait()
    ModelStore(root)
    assert _hidden(root) == []
