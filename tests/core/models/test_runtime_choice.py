"""Which engine each ``--device`` gets, from what is installed (providers, torch) as plain input."""

from __future__ import annotations

import pytest

from zssbir_core.errors import ZssbirError
from zssbir_core.models.runtime_choice import COREML, CPU, CUDA, RuntimeChoice, choose_runtime, parse_device

CPU_ONLY, WITH_CUDA, WITH_COREML = [CPU], [CUDA, CPU], [COREML, CPU]


def choose(device, providers=CPU_ONLY, *, onnx=True, torch=False, force=False):
    return choose_runtime(device, has_onnx=onnx, providers=providers, torch_available=torch, force_torch=force,
                          why_no_onnx="model.onnx is missing")


@pytest.mark.parametrize(("device", "providers", "torch", "expected"), [
    ("cpu", CPU_ONLY, False, RuntimeChoice("onnxruntime", "cpu", (CPU,))),
    ("cpu", CPU_ONLY, True, RuntimeChoice("onnxruntime", "cpu", (CPU,))),
    ("auto", CPU_ONLY, True, RuntimeChoice("onnxruntime", "cpu", (CPU,))),
    ("auto", WITH_CUDA, False, RuntimeChoice("onnxruntime", "cuda", (CUDA, CPU))),
    ("cuda", WITH_CUDA, True, RuntimeChoice("onnxruntime", "cuda", (CUDA, CPU))),
    ("cuda:1", WITH_CUDA, False, RuntimeChoice("onnxruntime", "cuda:1", (CUDA, CPU))),
    ("cuda", CPU_ONLY, True, RuntimeChoice("torch", "cuda")),
    ("mps", WITH_COREML, False, RuntimeChoice("onnxruntime", "mps", (COREML, CPU))),
    ("mps", CPU_ONLY, True, RuntimeChoice("torch", "mps")),
    (" CPU ", CPU_ONLY, False, RuntimeChoice("onnxruntime", "cpu", (CPU,))),
])
def test_a_model_with_an_onnx_file(device, providers, torch, expected):
    assert choose(device, providers, torch=torch) == expected


def test_the_gpu_index_reaches_the_cuda_provider():
    assert choose("cuda:1", WITH_CUDA).provider_options == [{"device_id": "1"}, {}]
    assert choose("cuda", WITH_CUDA).provider_options == [{}, {}]


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "mps"])
def test_a_model_without_onnx_file_runs_in_torch_or_says_what_to_install(device):
    assert choose(device, WITH_CUDA, onnx=False, torch=True) == RuntimeChoice("torch", device)
    with pytest.raises(ZssbirError, match=r"model.onnx is missing: it needs PyTorch.*zssbir\[train\]"):
        choose(device, WITH_CUDA, onnx=False)


@pytest.mark.parametrize(("device", "what"), [("cuda", "onnxruntime-gpu"), ("mps", "CoreML")])
def test_a_gpu_nothing_here_can_use_is_a_clear_error(device, what):
    with pytest.raises(ZssbirError, match=f"--device {device} needs .*{what}.*zssbir\\[train\\]"):
        choose(device)


def test_zssbir_runtime_torch_keeps_pytorch_and_needs_it():
    assert choose("cpu", torch=True, force=True) == RuntimeChoice("torch", "cpu")
    with pytest.raises(ZssbirError, match="ZSSBIR_RUNTIME=torch needs PyTorch"):
        choose("cpu", force=True)


def test_without_onnxruntime_torch_runs_everything():
    assert choose("cpu", [], torch=True) == RuntimeChoice("torch", "cpu")


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "cpu:0", "mps:1", "tpu", ""])
def test_device_names(name):
    if name == "":
        assert parse_device(name) == "auto"
        return
    with pytest.raises(ZssbirError, match="unknown device"):
        parse_device(name)
