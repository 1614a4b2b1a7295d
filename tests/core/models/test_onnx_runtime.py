"""ONNX Runtime: the packaged models' shipped export against PyTorch, the files that bind an export
to its checkpoint, and the export cache of the PyTorch path (issue 21, item 10)."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from zssbir_core.errors import ModelLoadError
from zssbir_core.models import catalog, load_model
from zssbir_core.models.onnx_embedder import CPU_MICRO_BATCH, OnnxEmbedder
from zssbir_core.models.onnx_file import ONNX_FILE, ONNX_META_FILE
from zssbir_core.models.onnx_runtime import RUNTIME_VARIABLE, export, remove_stale_temporaries
from zssbir_core.models.torch_embedder import TorchEmbedder

# how far below 1 the cosine between ONNX Runtime's and PyTorch's vector of one image may fall: the
# exports store their weights as float16 (onnx_half_storage), 1.4e-5 on the worst image here
PACKAGED_TOLERANCE = 5e-5


@pytest.fixture()
def photos(sketchy_root) -> list[Image.Image]:
    return [Image.open(f).convert("RGB") for f in sorted((sketchy_root / "photo").glob("*/*.jpg"))[::10][:7]]


@pytest.fixture()
def sketches(sketchy_root) -> list[Image.Image]:
    return [Image.open(f).convert("RGB") for f in sorted((sketchy_root / "sketch").glob("*/*.png"))[::900][:5]]


@pytest.mark.slow
@pytest.mark.parametrize("model", [m.id for m in catalog.BUILTIN_MODELS if m.source == "packaged"])
def test_packaged_onnx_embeds_real_images_as_pytorch(model, photos, sketches, monkeypatch):
    fast = load_model(model)
    assert isinstance(fast, OnnxEmbedder) and fast.model_id == model
    monkeypatch.setenv(RUNTIME_VARIABLE, "torch")
    plain = load_model(model)
    assert isinstance(plain, TorchEmbedder) and plain.onnx is None and plain.model_id == model
    images = photos + sketches + [Image.new("RGB", (90, 500), (240, 240, 240))]
    a, b = fast.embed_images(images), plain.embed_images(images)
    assert a.shape == b.shape == (len(images), 512)
    assert 1 - (a * b).sum(1).min() < PACKAGED_TOLERANCE
    fast.flip_average = plain.flip_average = True
    assert 1 - (fast.embed_images(images) * plain.embed_images(images)).sum(1).min() < PACKAGED_TOLERANCE


@pytest.fixture()
def packaged_copy(tmp_path) -> Path:
    """The default model's folder, as a checkpoint folder of its own."""
    folder = tmp_path / "model"
    shutil.copytree(catalog.builtin("default").checkpoint_dir, folder)
    return folder


def test_a_checkpoint_folder_with_its_export_runs_in_onnx_runtime(packaged_copy):
    embedder = load_model(packaged_copy)
    assert isinstance(embedder, OnnxEmbedder) and embedder.model_id.startswith("ckpt-")


@pytest.mark.parametrize("damage", ["truncated", "other model", "edited description", "no description"])
def test_a_damaged_or_foreign_export_is_refused(packaged_copy, damage):
    onnx = packaged_copy / ONNX_FILE
    if damage == "truncated":
        onnx.write_bytes(onnx.read_bytes()[:100_000])
    elif damage == "other model":  # the previous default's export and description copied over
        v1 = catalog.builtin("sketch-lite1-v1").checkpoint_dir
        shutil.copy(v1 / ONNX_FILE, onnx)
        shutil.copy(v1 / ONNX_META_FILE, packaged_copy / ONNX_META_FILE)
    elif damage == "edited description":
        meta = json.loads((packaged_copy / ONNX_META_FILE).read_text())
        (packaged_copy / ONNX_META_FILE).write_text(json.dumps({**meta, "image_size": "224"}))
    else:
        (packaged_copy / ONNX_META_FILE).unlink()
    with pytest.raises(ModelLoadError, match="scripts/export_onnx.py"):
        load_model(packaged_copy)


def test_another_input_size_than_the_export_goes_to_pytorch(packaged_copy):
    embedder = load_model(packaged_copy, image_size=160)
    assert isinstance(embedder, TorchEmbedder) and embedder.model_id.endswith("@160")


# -- the export cache of the PyTorch path ------------------------------------------------------


@pytest.fixture()
def small_net() -> torch.nn.Module:
    from zssbir_core.models import ZSSBIRNet, build_backbone
    from zssbir_core.models.inference import prepare_for_inference

    torch.manual_seed(0)
    net = ZSSBIRNet(build_backbone("efficientnet_lite0", pretrained=False), embedding_dim=16)
    return prepare_for_inference(net.eval(), 64)[0]


def _encode(data: bytes, batch: np.ndarray) -> np.ndarray:
    import onnxruntime

    return onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": batch})[0]


@pytest.mark.slow
def test_cache_rebuilds_a_file_that_does_not_match_its_record(tmp_path, small_net):
    first = export(small_net, 64, tmp_path)
    (key_file,) = tmp_path.glob("*.onnx")
    batch = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with torch.inference_mode():
        expected = small_net.encode(torch.from_numpy(batch), normalize=False).numpy()
    # another model's export copied over the key file, then a cut-short file: both exported again
    changed = copy.deepcopy(small_net)
    with torch.no_grad():
        for parameter in changed.parameters():
            parameter.add_(0.01)
    other = export(changed, 64, tmp_path / "other")
    for bad in (other, first[: len(first) // 2]):
        key_file.write_bytes(bad)
        again = export(small_net, 64, tmp_path)
        assert again == key_file.read_bytes() and np.allclose(_encode(again, batch), expected, atol=1e-4)


@pytest.mark.slow
def test_cache_key_covers_the_zssbir_version_and_the_graph_code(tmp_path, small_net, monkeypatch):
    from zssbir_core.models import onnx_runtime

    key = onnx_runtime.cache_key(small_net, 64)
    monkeypatch.setattr(onnx_runtime, "__version__", "999.0")
    assert onnx_runtime.cache_key(small_net, 64) != key
    monkeypatch.undo()
    monkeypatch.setattr(onnx_runtime, "graph_code_digest", lambda: "changed network code")
    assert onnx_runtime.cache_key(small_net, 64) != key
    monkeypatch.undo()
    assert onnx_runtime.cache_key(small_net, 64) == key and onnx_runtime.cache_key(small_net, 96) != key


def test_stale_temporaries_of_killed_exports_are_removed(tmp_path):
    old = [tmp_path / "tmpab12cd.onnx.tmp", tmp_path / ".0123.onnx.x9y8.tmp"]
    fresh = tmp_path / "tmpfresh.onnx.tmp"
    keep = tmp_path / "0123.onnx"
    for path in (*old, fresh, keep):
        path.write_bytes(b"partial")
    hour_ago = time.time() - 7200
    for path in (*old, keep):
        os.utime(path, (hour_ago, hour_ago))
    assert remove_stale_temporaries(tmp_path) == 2
    assert not any(p.exists() for p in old) and fresh.exists() and keep.exists()


def test_the_model_store_keeps_a_models_checked_export(packaged_copy, tmp_path):
    from zssbir_core.models.store import ModelStore

    store = ModelStore(tmp_path / "store")
    stored = store.import_checkpoint(packaged_copy, name="mine")
    assert (stored.checkpoint_dir / ONNX_FILE).read_bytes() == (packaged_copy / ONNX_FILE).read_bytes()
    assert isinstance(load_model(stored.checkpoint_dir), OnnxEmbedder)
    exported = store.export(stored.key, tmp_path / "exported")
    assert isinstance(load_model(exported), OnnxEmbedder)
    (packaged_copy / ONNX_FILE).write_bytes(b"not the export")
    with pytest.raises(ModelLoadError, match="damaged"):
        store.import_checkpoint(packaged_copy, name="broken")
    assert [model.name for model in store.list()] == ["mine"]


def test_micro_batches_give_the_vectors_of_one_run(photos):
    embedder = load_model("default")
    images = (photos * 4)[: CPU_MICRO_BATCH + 3]  # one full micro-batch and a short one
    together = embedder.embed_images(images)
    alone = np.concatenate([embedder.embed_images([image]) for image in images])
    assert together.shape == (len(images), 512)
    assert 1 - (together * alone).sum(1).min() < PACKAGED_TOLERANCE


# Embed two micro-batches, then rest: the arena that held their activations must be handed back.
ARENA_PROBE = """
import time, numpy as np
from zssbir_core import cpu_allocator
from zssbir_core.models import load_model
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
cpu_allocator.tune_malloc()
embedder = load_model("default")
embedder.embed_images([])
loaded = rss()
side = embedder.preprocessing.image_size
embedder.embed_tensors(np.random.default_rng(0).normal(size=(32, 3, side, side)).astype(np.float32))
busy = rss()
time.sleep(cpu_allocator.IDLE_TRIM_S + 2.0)
print(busy - loaded, rss() - loaded)
"""


@pytest.mark.subprocess
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc")
def test_the_onnx_arena_goes_back_once_embedding_is_idle():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES", RUNTIME_VARIABLE))}
    done = subprocess.run([sys.executable, "-c", ARENA_PROBE], env=env, capture_output=True, text=True, check=True)
    busy, idle = map(float, done.stdout.split())
    assert idle < 80, (busy, idle)  # MB above the loaded model's; the arena alone is some 400 MB


def test_the_export_folds_its_paddings_into_the_convolutions(small_net, monkeypatch):
    import onnx

    from zssbir_core.models import onnx_runtime

    fused = onnx_runtime.export_bytes(small_net, 64)
    monkeypatch.setattr(onnx_runtime, "fuse_pads_into_convs", lambda data, size: data)
    plain = onnx_runtime.export_bytes(small_net, 64)
    assert "Pad" in {node.op_type for node in onnx.load_from_string(plain).graph.node}  # what there was to fold
    assert "Pad" not in {node.op_type for node in onnx.load_from_string(fused).graph.node}
    batch = np.random.default_rng(1).standard_normal((3, 3, 64, 64)).astype(np.float32)
    np.testing.assert_allclose(_encode(fused, batch), _encode(plain, batch), rtol=1e-5, atol=1e-6)


def test_large_weights_are_stored_as_float16_and_computed_in_float32(small_net, tmp_path):
    import onnx
    import onnxruntime

    from zssbir_core.models import onnx_runtime
    from zssbir_core.models.onnx_half_storage import MIN_ELEMENTS, store_weights_as_float16

    plain = onnx_runtime.export_bytes(small_net, 64)
    half = store_weights_as_float16(plain)
    assert len(half) < 0.6 * len(plain)
    stored = onnx.load_from_string(half).graph.initializer
    kinds = {(t.data_type, int(np.prod(t.dims)) >= MIN_ELEMENTS) for t in stored}
    assert kinds == {(onnx.TensorProto.FLOAT16, True), (onnx.TensorProto.FLOAT, False)}  # biases stay float32
    batch = np.random.default_rng(2).standard_normal((4, 3, 64, 64)).astype(np.float32)
    a, b = _encode(half, batch), _encode(plain, batch)
    assert a.dtype == np.float32
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() > 0.9999
    # ONNX Runtime folds the casts of constants when it loads the model: no cast is left to run
    options = onnxruntime.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    onnxruntime.InferenceSession(half, options, providers=["CPUExecutionProvider"])
    assert "Cast" not in {node.op_type for node in onnx.load(tmp_path / "optimized.onnx").graph.node}
    assert store_weights_as_float16(half) == half  # nothing left to store smaller
