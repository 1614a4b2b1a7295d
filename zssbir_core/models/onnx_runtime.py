"""Export a prepared PyTorch network to ONNX, and the export cache of the PyTorch path.

``export_bytes`` is the one exporter: ``onnx_export`` uses it for the ``model.onnx`` that ships
with every packaged and every trained model. A model without one (the raw ImageNet built-ins, a
checkpoint from an older zssbir), loaded on the CPU while torch is installed, is exported once to
``<cache>/onnx/<key>.onnx`` and run in ONNX Runtime (``OnnxEncoder``); ``ZSSBIR_RUNTIME=torch``
keeps it in PyTorch. Embeddings match PyTorch's within 1e-4 cosine
(``tests/core/models/test_onnx_runtime.py``).

The cache trusts nothing it finds: the key covers the weights, the input size, the versions of
zssbir, torch and Python and the code of every module that builds the graph; beside each file a
``<key>.json`` records that key and the file's sha256, and a file that does not match (another
model's export copied over it, a cut-short file) is exported again, never used. Temporary files
of exports that were killed are removed after an hour.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import marshal
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
from torch import nn

from zssbir_core import __version__, paths
from zssbir_core.atomic import write_bytes_atomic
from zssbir_core.errors import ModelLoadError
from zssbir_core.models.onnx_file import MAX_ONNX_BYTES, MAX_ONNX_META_BYTES
from zssbir_core.models.onnx_pad_fusion import fuse_pads_into_convs
from zssbir_core.models.runtime_choice import RUNTIME_VARIABLE
from zssbir_core.models.safe_io import read_regular_file

OPSET = 17
STALE_TEMP_S = 3600
# The modules whose code decides the exported graph: a change to any of them is a new cache key.
GRAPH_MODULES = ("network", "efficientnet_lite", "backbones", "resnet", "inference", "onnx_runtime")
log = logging.getLogger(__name__)


def onnx_runtime_available() -> bool:
    """Whether ONNX Runtime can run and torch can export here (``onnxruntime`` and ``onnx``)."""
    try:
        importlib.import_module("onnxruntime")
        importlib.import_module("onnx")
    except ImportError:
        return False
    return True


def wanted() -> bool:
    """Whether CPU inference should go through ONNX Runtime here."""
    return os.environ.get(RUNTIME_VARIABLE, "") != "torch" and onnx_runtime_available()


class _Encode(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.encode(x, normalize=False)


def export_bytes(net: nn.Module, image_size: int) -> bytes:
    """The ONNX graph of ``net.encode`` (unnormalised) for (N, 3, ``image_size``, ``image_size``)
    inputs named ``x``, output ``y``."""
    with tempfile.TemporaryDirectory(prefix="zssbir-onnx-") as folder:
        target = Path(folder) / "model.onnx"
        # eval() on the wrapper: the exporter puts every submodule back into the wrapper's mode
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on constant folding
            torch.onnx.export(_Encode(net).eval(), torch.zeros(1, 3, image_size, image_size), str(target),
                              input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
                              opset_version=OPSET, dynamo=False)
        return fuse_pads_into_convs(target.read_bytes(), image_size)


def graph_code_digest() -> str:
    """sha256 of the compiled code of ``GRAPH_MODULES`` (works from a bundle without sources)."""
    digest = hashlib.sha256()
    for name in GRAPH_MODULES:
        module = importlib.import_module(f"zssbir_core.models.{name}")
        digest.update(marshal.dumps(module.__spec__.loader.get_code(module.__name__)))
    return digest.hexdigest()


def cache_key(net: nn.Module, image_size: int) -> str:
    """What a cached export must have been made from: weights, input size, versions and graph code."""
    digest = hashlib.sha256(f"{image_size}|{__version__}|{torch.__version__}|{sys.version}|{OPSET}".encode())
    digest.update(graph_code_digest().encode())
    for name, tensor in net.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:32]


def _cached(directory: Path, key: str) -> bytes | None:
    """The cached export of ``key`` when its record matches it and its content, else None."""
    try:
        record = json.loads(read_regular_file(directory / f"{key}.json", MAX_ONNX_META_BYTES))
        data = read_regular_file(directory / f"{key}.onnx", MAX_ONNX_BYTES)
    except (ModelLoadError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != key or record.get("sha256") != hashlib.sha256(data).hexdigest():
        log.warning("the cached ONNX export %s does not match its record: exporting it again", directory / f"{key}.onnx")
        return None
    return data


def remove_stale_temporaries(directory: Path, older_than_s: float = STALE_TEMP_S) -> int:
    """Delete temporary files of exports killed more than ``older_than_s`` ago; returns how many."""
    removed = 0
    for temp in directory.glob("*.tmp"):  # atomic writes (.<name>.<random>.tmp) and older exports (tmp*.onnx.tmp)
        try:
            if time.time() - temp.lstat().st_mtime > older_than_s:
                temp.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def export(net: nn.Module, image_size: int, directory: Path | None = None) -> bytes:
    """The checked ONNX export of ``net`` for ``image_size`` inputs, from the cache or made now."""
    directory = directory or paths.cache_dir() / "onnx"
    key = cache_key(net, image_size)
    data = _cached(directory, key) if directory.is_dir() else None
    if data is not None:
        return data
    directory.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(directory)
    data = export_bytes(net, image_size)
    write_bytes_atomic(directory / f"{key}.onnx", data, durable=False)
    write_bytes_atomic(directory / f"{key}.json", json.dumps({"key": key, "sha256": hashlib.sha256(data).hexdigest(),
                                                              "zssbir": __version__}).encode(), durable=False)
    return data


class OnnxEncoder:
    """``net.encode(x, normalize=False)`` for (N, 3, S, S) CPU inputs through ONNX Runtime."""

    def __init__(self, model: bytes, image_size: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        # no busy-waiting between calls: the indexer's decode threads need those cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.image_size = image_size
        self.session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, {"x": batch.contiguous().numpy()})[0])


def onnx_encoder(net: nn.Module, image_size: int) -> OnnxEncoder | None:
    """An ONNX Runtime encoder for ``net`` when onnxruntime and onnx are installed and wanted, else
    None (the reason logged when the export or the session fails: inference then stays in PyTorch)."""
    if not wanted():
        return None
    try:
        return OnnxEncoder(export(net, image_size), image_size)
    except Exception as error:  # noqa: BLE001 - an exporter or runtime limitation: PyTorch still works
        log.warning("ONNX Runtime unavailable for this model, using PyTorch: %s", error)
        return None
