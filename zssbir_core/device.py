"""Choosing the compute device for PyTorch: CUDA, then Apple's MPS, then the CPU.

torch is imported inside the functions that need it: ``DeviceInfo`` and ``cpu_device`` serve the
default install, which has no torch (``api.available_devices``).
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zssbir_core.errors import ZssbirError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceInfo:
    """A device this machine can run on, with a name to show (e.g. ``cuda:0``, "NVIDIA H100")."""

    name: str
    description: str


def cpu_device() -> DeviceInfo:
    """The CPU, described."""
    cpu = platform.processor() or platform.machine() or "CPU"
    return DeviceInfo("cpu", f"{cpu}, {os.cpu_count() or 1} logical cores")


def _mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[DeviceInfo]:
    """Every usable device, the CPU last."""
    import torch

    devices = [
        DeviceInfo(f"cuda:{i}", torch.cuda.get_device_name(i))
        for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0)
    ]
    if _mps_available():
        devices.append(DeviceInfo("mps", "Apple GPU (Metal)"))
    devices.append(cpu_device())
    return devices


def resolve_device(name: str = "auto") -> torch.device:
    """Turn ``auto``/``cpu``/``cuda[:N]``/``mps`` into a device, refusing one this machine lacks."""
    import torch

    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ZssbirError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}") from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ZssbirError("CUDA was asked for, but no CUDA GPU is usable here (use --device cpu or auto)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ZssbirError(f"{name} does not exist: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    elif device.type == "mps" and not _mps_available():
        raise ZssbirError("MPS was asked for, but no Apple GPU is usable here (use --device cpu or auto)")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ZssbirError(f"unsupported device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    return device


@contextlib.contextmanager
def autocast(device: torch.device) -> Iterator[None]:
    """Mixed precision on CUDA (bfloat16 where supported, else float16); full precision elsewhere."""
    import torch

    if device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        with torch.autocast("cuda", dtype=dtype):
            yield
    else:
        yield
