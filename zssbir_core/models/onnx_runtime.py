"""Run a prepared network with ONNX Runtime on the CPU, when the optional ``onnx`` extra is
installed (``pip install 'zssbir[onnx]'``); without it everything runs in PyTorch.

The network (after ``inference.prepare_for_inference``) is exported once per set of weights and
input size to ``<cache>/onnx/<key>.onnx`` and loaded into an ONNX Runtime session with as many
threads as torch uses. ``ZSSBIR_RUNTIME=torch`` keeps inference in PyTorch. Embeddings match
PyTorch's within 1e-4 cosine (``tests/core/models/test_onnx_runtime.py``); the speed is in
``docs/benchmarks/cpu.md``.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from zssbir_core import paths

RUNTIME_VARIABLE = "ZSSBIR_RUNTIME"
log = logging.getLogger(__name__)


def onnx_runtime_available() -> bool:
    """Whether the extra is installed (``onnxruntime`` to run, ``onnx`` for torch to export)."""
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


def _key(net: nn.Module, image_size: int) -> str:
    digest = hashlib.sha256(f"{image_size}|{torch.__version__}".encode())
    for name, tensor in net.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:24]


def export(net: nn.Module, image_size: int, directory: Path | None = None) -> Path:
    """The ONNX file of ``net.encode`` (unnormalised) for ``image_size`` inputs, exported once."""
    directory = directory or paths.cache_dir() / "onnx"
    target = directory / f"{_key(net, image_size)}.onnx"
    if target.is_file():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=directory, suffix=".onnx.tmp")
    os.close(fd)
    try:
        # eval() on the wrapper: the exporter puts every submodule back into the wrapper's mode
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on constant folding
            torch.onnx.export(_Encode(net).eval(), torch.zeros(1, 3, image_size, image_size), temp,
                              input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
                              dynamo=False)
        os.replace(temp, target)
    finally:
        Path(temp).unlink(missing_ok=True)
    return target


class OnnxEncoder:
    """``net.encode(x, normalize=False)`` for (N, 3, S, S) CPU inputs through ONNX Runtime."""

    def __init__(self, model_file: Path, image_size: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        # no busy-waiting between calls: the indexer's decode threads need those cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.image_size = image_size
        self.session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, {"x": batch.contiguous().numpy()})[0])


def onnx_encoder(net: nn.Module, image_size: int) -> OnnxEncoder | None:
    """An ONNX Runtime encoder for ``net`` when the extra is installed and wanted, else None (the
    reason logged when the export or the session fails: inference then stays in PyTorch)."""
    if not wanted():
        return None
    try:
        return OnnxEncoder(export(net, image_size), image_size)
    except Exception as error:  # noqa: BLE001 - an exporter or runtime limitation: PyTorch still works
        log.warning("ONNX Runtime unavailable for this model, using PyTorch: %s", error)
        return None
