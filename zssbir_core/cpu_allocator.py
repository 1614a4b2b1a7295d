"""Keep glibc's malloc from giving big tensor buffers back to the kernel after every batch.

PyTorch's CPU allocator calls malloc and free for each tensor. glibc serves blocks above its mmap
threshold (at most 32 MiB, usually far less) with a fresh ``mmap`` and unmaps them on ``free``,
so every batch through a convolutional network faults all the pages of its activations in again,
and the kernel zeroes each one: on a 2-core machine EfficientNet-Lite0 inference spent as much
time in the kernel as in the network, or more (``benchmarks/cpu_allocator.py``). Raising the mmap and trim
thresholds keeps those buffers in the heap, where the next batch reuses them. The price is that
the process keeps its peak heap until it exits, which the same benchmark measures.

The entry points (``zssbir-cli``, the app) call :func:`keep_freed_memory` once at start-up; it does
nothing on other C libraries, when the user set glibc's own ``MALLOC_*`` variables, or when
``ZSSBIR_MALLOC_TUNING=0``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

OPT_OUT_VARIABLE = "ZSSBIR_MALLOC_TUNING"
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_THRESHOLD = 2**31 - 1  # mallopt takes an int: the largest value it accepts
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; True when they were set."""
    if os.environ.get(OPT_OUT_VARIABLE, "1") == "0" or any(name in os.environ for name in _USER_SETTINGS):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, _THRESHOLD)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, _THRESHOLD))
