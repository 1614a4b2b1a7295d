"""Every kind of bad model in ``hostile_models`` meets every reader: a clear ``ModelLoadError`` (or
``WeightsUnavailableError`` for ImageNet weights files), a one-line error and exit 2 on the
command line, nothing added to the store, no temporary leftovers, never a traceback or a hang."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest
import torch
from PIL import Image

from tests.core.hostile_models import BAD_MODEL_JSON, BAD_PAIRS, BAD_WEIGHTS
from zssbir_core.cli import main
from zssbir_core.errors import ModelLoadError, WeightsUnavailableError
from zssbir_core.models import (
    ZSSBIRNet,
    build_backbone,
    load_checkpoint,
    load_model,
    read_checkpoint_info,
    save_checkpoint,
)
from zssbir_core.models.store import ModelStore

ALL_BAD = {**{f"model.json: {k}": v for k, v in BAD_MODEL_JSON.items()},
           **{f"weights: {k}": v for k, v in BAD_WEIGHTS.items()},
           **{f"pair: {k}": v for k, v in BAD_PAIRS.items()}}
CLI_KINDS = ["model.json: a list", "model.json: null", "model.json: image_size 1000000",
             "model.json: embedding_dim huge", "model.json: unknown backbone", "weights: truncated to half",
             "weights: header length 2**63", "weights: a tensor of the wrong shape",
             "pair: model.json describes another network"]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    net = ZSSBIRNet(build_backbone("efficientnet_lite0", pretrained=False), embedding_dim=8, num_classes=2)
    return save_checkpoint(net, tmp_path_factory.mktemp("good") / "ckpt", classes=["cat", "dog"],
                           training={"recipe": "quick"}, metrics={"map_all": 0.5})


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelStore:
    monkeypatch.setenv("ZSSBIR_DATA_DIR", str(tmp_path / "data"))
    return ModelStore()


def _bad_copy(good: Path, tmp_path: Path, kind: str) -> Path:
    folder = tmp_path / "bad"
    shutil.copytree(good, folder)
    ALL_BAD[kind](folder)
    return folder


def _assert_store_unchanged(store: ModelStore) -> None:
    assert store.list() == []
    leftovers = list(store.root.iterdir()) if store.root.exists() else []
    assert leftovers == [], leftovers


@pytest.mark.parametrize("kind", sorted(ALL_BAD))
def test_every_reader_refuses_every_bad_model(kind: str, good: Path, tmp_path: Path, store: ModelStore) -> None:
    folder = _bad_copy(good, tmp_path, kind)
    with pytest.raises(ModelLoadError) as loading:
        load_checkpoint(folder)
    assert str(folder) in str(loading.value)
    with pytest.raises(ModelLoadError):
        load_model(folder)
    with pytest.raises(ModelLoadError):
        store.import_checkpoint(folder)
    _assert_store_unchanged(store)
    if kind.startswith("model.json"):
        with pytest.raises(ModelLoadError, match="not a valid checkpoint description"):
            read_checkpoint_info(folder)


@pytest.mark.parametrize("kind", CLI_KINDS)
@pytest.mark.parametrize("flag", ["embed --model", "train --init", "index --model"])
def test_cli_gives_one_line_and_exit_2(kind: str, flag: str, good: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZSSBIR_DATA_DIR", str(tmp_path / "data"))
    folder = _bad_copy(good, tmp_path, kind)
    photos = tmp_path / "photos" / "photo" / "cat"
    photos.mkdir(parents=True)
    Image.new("RGB", (40, 40), "red").save(photos / "a.jpg")
    (tmp_path / "photos" / "photo" / "dog").mkdir()
    Image.new("RGB", (40, 40), "blue").save(tmp_path / "photos" / "photo" / "dog" / "b.jpg")
    argv = {
        "embed --model": ["embed", "--model", str(folder), "--output", str(tmp_path / "v.npz"), str(photos)],
        "train --init": ["train", "--init", str(folder), "--data", str(tmp_path / "photos"),
                         "--output", str(tmp_path / "run"), "--device", "cpu"],
        "index --model": ["index", "--model", str(folder), "--library", str(tmp_path / "lib"),
                          "--add", str(photos), "--device", "cpu", "--progress", "none"],
    }[flag]
    assert main(argv) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith(f"zssbir-cli {argv[0]}: error: "), err
    assert str(folder) in errors[0] and "Traceback" not in err
    assert "teacher" not in err, "the model is checked before any work is done"


def test_format_1_checkpoints_still_load_with_their_old_model_id(good: Path, tmp_path: Path) -> None:
    import hashlib

    folder = tmp_path / "v1"
    shutil.copytree(good, folder)
    meta = json.loads((folder / "model.json").read_text())
    weights_sha = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    meta.update(format_version=1, content_hash=weights_sha)
    (folder / "model.json").write_text(json.dumps(meta))
    net, info = load_checkpoint(folder)
    assert info.model_id == f"ckpt-{weights_sha[:12]}" and net.embedding_dim == 8
    meta["num_classes"] = -1  # version 1 files pass the same schema
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="num_classes"):
        load_checkpoint(folder)


def test_format_2_hash_covers_model_json(good: Path) -> None:
    info = read_checkpoint_info(good)
    meta = json.loads((good / "model.json").read_text())
    assert meta["format_version"] == 2
    import hashlib

    assert info.content_hash != hashlib.sha256((good / "model.safetensors").read_bytes()).hexdigest()


def _private(tmp_path: Path) -> Path:
    secret = tmp_path / "private" / "id_rsa"
    secret.parent.mkdir(exist_ok=True)
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----")
    return secret


@pytest.mark.parametrize("name", ["model.json", "model.safetensors"])
def test_store_refuses_links_even_to_valid_files(name: str, good: Path, tmp_path: Path, store: ModelStore) -> None:
    real = tmp_path / "real"
    shutil.copytree(good, real)
    folder = tmp_path / "linked"
    folder.mkdir()
    for file in ("model.json", "model.safetensors"):
        target = folder / file
        if file == name:
            target.symlink_to(real / file)
        else:
            shutil.copy(real / file, target)
    with pytest.raises(ModelLoadError, match="symbolic link"):
        store.import_checkpoint(folder)
    _assert_store_unchanged(store)
    assert load_checkpoint(folder)[1].model_id  # loading (not copying) may follow a link to a plain file


def test_store_copies_only_the_two_checkpoint_files(good: Path, tmp_path: Path, store: ModelStore) -> None:
    folder = tmp_path / "with-extras"
    shutil.copytree(good, folder)
    (folder / "notes").symlink_to(_private(tmp_path))
    (folder / "sub").mkdir()
    (folder / "sub" / "key").symlink_to(_private(tmp_path).parent)
    model = store.import_checkpoint(folder)
    assert sorted(p.name for p in model.checkpoint_dir.iterdir()) == ["model.json", "model.safetensors"]
    exported = store.export(model.key, tmp_path / "out")
    assert sorted(p.name for p in exported.iterdir()) == ["model.json", "model.safetensors"]
    # A link planted in the store entry later is not handed on by export either.
    (model.checkpoint_dir / "model.safetensors").unlink()
    (model.checkpoint_dir / "model.safetensors").symlink_to(folder / "model.safetensors")
    with pytest.raises(ModelLoadError, match="symbolic link"):
        store.export(model.key, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()


def _in_thread(fn, timeout: float = 20.0) -> BaseException | None:
    """Run ``fn`` in a thread; fail (instead of hanging) if it blocks."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            fn()
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            outcome.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert outcome, "the reader blocked"
    return outcome[0]


@pytest.mark.parametrize("special", ["/dev/zero link", "fifo", "folder", "2 GiB sparse file"])
@pytest.mark.parametrize("name", ["model.json", "model.safetensors"])
def test_special_files_are_refused_without_blocking_or_filling_memory(special: str, name: str, good: Path,
                                                                      tmp_path: Path, store: ModelStore) -> None:
    folder = tmp_path / "special"
    shutil.copytree(good, folder)
    target = folder / name
    target.unlink()
    if special == "/dev/zero link":
        target.symlink_to("/dev/zero")
    elif special == "fifo":
        os.mkfifo(target)
    elif special == "folder":
        target.mkdir()
    else:
        with open(target, "wb") as handle:
            handle.truncate(2 << 30)
    readers = [lambda: load_checkpoint(folder), lambda: store.import_checkpoint(folder)]
    if name == "model.json":  # read_checkpoint_info does not read the weights
        readers.append(lambda: read_checkpoint_info(folder))
    for reader in readers:
        error = _in_thread(reader)
        assert isinstance(error, ModelLoadError), repr(error)
        assert str(folder / name) in str(error)
    _assert_store_unchanged(store)


@pytest.mark.parametrize("kind", ["garbage", "truncated", "/dev/zero", "fifo", "folder", "code pickle", "a list"])
def test_bad_imagenet_weights_files(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from zssbir_core.models.efficientnet_lite import weights_path

    path = tmp_path / "weights.pth"
    if kind == "garbage":
        path.write_bytes(os.urandom(5000))
    elif kind == "truncated":
        path.write_bytes(weights_path("lite0").read_bytes()[:100_000])
    elif kind == "/dev/zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "code pickle":
        class Boom:
            def __reduce__(self):
                return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

        torch.save({"x": Boom()}, path)
    else:
        torch.save([1, 2], path)
    error = _in_thread(lambda: build_backbone("efficientnet_lite0", weights=path))
    assert isinstance(error, WeightsUnavailableError), repr(error)
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (40, 40), "red").save(photos / "a.jpg")
    code = main(["embed", "--model", "lite0-imagenet", "--weights", str(path), "--output", str(tmp_path / "v.npz"),
                 "--device", "cpu", str(photos)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("entry", ["[1, 2]", "null", '{"figures": [1, 2]}', '{"name": 5}', '{"data_folder": {}}',
                                   "[" * 100_000, "fifo", "/dev/zero link"])
def test_a_damaged_store_entry_is_left_out_of_the_list(entry: str, good: Path, store: ModelStore) -> None:
    kept = store.import_checkpoint(good, name="kept")
    damaged = store.import_checkpoint(good, name="damaged")
    path = damaged.directory / "entry.json"
    path.unlink()
    if entry == "fifo":
        os.mkfifo(path)
    elif entry == "/dev/zero link":
        path.symlink_to("/dev/zero")
    else:
        path.write_text(entry)
    listed = _in_thread(lambda: store.list())
    assert listed is None  # no error and no hang
    assert [m.key for m in store.list()] == [kept.key]
    assert store.find(str(kept.checkpoint_dir)) == kept


@pytest.mark.parametrize("size", [0, -1, 31, 1025, 1_000_000])
def test_an_input_size_out_of_range_is_refused_before_any_image_is_embedded(size: int) -> None:
    # e.g. a library whose stored model id was edited to "lite0-imagenet@1000000"
    with pytest.raises(ModelLoadError, match="input size"):
        load_model("lite0-imagenet", image_size=size)
