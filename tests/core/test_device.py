import pytest
import torch

from zssbir_core.device import autocast, available_devices, resolve_device
from zssbir_core.errors import ZssbirError


def test_auto_falls_back_to_cpu_without_a_gpu():
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("") == torch.device("cpu")


def test_cpu_is_always_listed_last():
    devices = available_devices()
    assert devices[-1].name == "cpu"
    assert "cores" in devices[-1].description


@pytest.mark.parametrize("name", ["cuda", "cuda:3", "mps"])
def test_missing_accelerator_is_a_clear_error(name):
    with pytest.raises(ZssbirError, match="(CUDA|MPS|does not exist)"):
        resolve_device(name)


@pytest.mark.parametrize("name", ["tpu", "gpu!"])
def test_unknown_device_names_the_choices(name):
    with pytest.raises(ZssbirError, match="auto, cpu, cuda, mps"):
        resolve_device(name)


def test_autocast_is_full_precision_on_cpu():
    with autocast(torch.device("cpu")):
        out = torch.ones(2, 2) @ torch.ones(2, 2)
    assert out.dtype == torch.float32
