"""Which engine runs a model for a ``--device``, decided from what is installed (no torch import).

``--device`` means the same on every command:

* ``cpu``: ONNX Runtime's CPU provider when the model has an ONNX file, else PyTorch on the CPU;
* ``cuda`` (``cuda:N``): ONNX Runtime's CUDA provider when installed (``onnxruntime-gpu``), else
  PyTorch's CUDA when the ``train`` extra is installed, else a clear error;
* ``mps``: ONNX Runtime's CoreML provider when installed, else PyTorch's MPS;
* ``auto``: for a model with an ONNX file, ONNX Runtime's CUDA provider when installed, else its
  CPU provider (torch is not imported just to look for a GPU: ask for ``cuda`` or ``mps`` to use
  PyTorch's); for a model without one, PyTorch's choice (CUDA, then MPS, then the CPU).

``ZSSBIR_RUNTIME=torch`` keeps inference in PyTorch. ``choose_runtime`` takes what is installed
as arguments, so that every case is tested on any machine.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass

from zssbir_core.errors import ZssbirError

RUNTIME_VARIABLE = "ZSSBIR_RUNTIME"
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
CPU, CUDA, COREML = "CPUExecutionProvider", "CUDAExecutionProvider", "CoreMLExecutionProvider"
INSTALL_TRAINING = "pip install 'zssbir[train]'"


@dataclass(frozen=True)
class RuntimeChoice:
    """``engine`` is ``onnxruntime`` (with ``providers`` in order) or ``torch`` (on ``device``)."""

    engine: str
    device: str
    providers: tuple[str, ...] = ()

    @property
    def provider_options(self) -> list[dict[str, str]]:
        """ONNX Runtime's per-provider options: the GPU index of ``cuda:N``."""
        index = self.device.partition(":")[2]
        return [{"device_id": index} if provider == CUDA and index else {} for provider in self.providers]


def torch_installed() -> bool:
    """Whether PyTorch is importable (the ``train`` extra), without importing it."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def onnxruntime_providers() -> list[str]:
    """ONNX Runtime's execution providers installed here ([] without onnxruntime)."""
    try:
        import onnxruntime
    except ImportError:
        return []
    return list(onnxruntime.get_available_providers())


def parse_device(name: str | None) -> str:
    """``name`` checked and normalised: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``."""
    text = str(name or "auto").strip().lower()
    kind, colon, index = text.partition(":")
    if kind in DEVICE_CHOICES and (not colon or (kind == "cuda" and index.isdigit())):
        return text
    raise ZssbirError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)} (or cuda:N)")


def choose_runtime(
    device: str, *, has_onnx: bool, providers: Sequence[str], torch_available: bool, force_torch: bool = False,
    why_no_onnx: str = "",
) -> RuntimeChoice:
    """The engine for ``device`` (see the module doc). ``has_onnx``: the model has an ONNX file
    for the wanted input size (``why_no_onnx`` says why not, for the message). Raises
    ``ZssbirError`` with what to install when nothing here can run it."""
    device = parse_device(device)
    kind = device.partition(":")[0]
    onnx_ok = has_onnx and not force_torch and CPU in providers
    if force_torch:
        if not torch_available:
            raise ZssbirError(f"{RUNTIME_VARIABLE}=torch needs PyTorch, which is not installed: {INSTALL_TRAINING}")
        return RuntimeChoice("torch", device)
    if onnx_ok and kind == "cpu":
        return RuntimeChoice("onnxruntime", "cpu", (CPU,))
    if onnx_ok and kind in ("cuda", "auto") and CUDA in providers:
        return RuntimeChoice("onnxruntime", "cuda" if kind == "auto" else device, (CUDA, CPU))
    if onnx_ok and kind == "mps" and COREML in providers:
        return RuntimeChoice("onnxruntime", "mps", (COREML, CPU))
    if onnx_ok and kind == "auto":
        return RuntimeChoice("onnxruntime", "cpu", (CPU,))
    if torch_available:
        return RuntimeChoice("torch", device)
    if onnx_ok:
        gpu = {"cuda": "ONNX Runtime's CUDA provider (pip install onnxruntime-gpu)",
               "mps": "ONNX Runtime's CoreML provider (an onnxruntime build with CoreML)"}[kind]
        raise ZssbirError(f"--device {device} needs {gpu} or PyTorch ({INSTALL_TRAINING}); neither is installed "
                          "(use --device cpu)")
    reason = why_no_onnx or "this model has no ONNX file"
    raise ZssbirError(f"{reason}: it needs PyTorch, which is not installed ({INSTALL_TRAINING})")
