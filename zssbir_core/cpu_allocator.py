"""Let glibc's malloc reuse freed tensor memory between batches, within a bound, and give it back
when the process goes idle.

PyTorch's CPU allocator calls malloc and free for each tensor. glibc serves blocks above its mmap
threshold (128 KiB at first, adjusting up to 32 MiB) with a fresh ``mmap`` and unmaps them on
``free``, so every batch through a convolutional network faults all the pages of its activations
in again, and the kernel zeroes each one: on a 2-core machine EfficientNet-Lite0 spent as much
time in the kernel as in the network (``benchmarks/cpu_allocator.py``).

:func:`tune_malloc` fixes the mmap threshold at 32 MiB (the largest value every glibc accepts) and
the trim threshold at 128 MiB. ``Embedder`` then embeds in micro-batches whose largest activation
stays under the mmap threshold (``zssbir_core.models.inference.micro_batch_size``), so that every
activation comes from the heap and the next micro-batch reuses the same blocks, and
:func:`trim_when_idle` hands the freed heap back to the kernel (``malloc_trim``) once no batch
has run for :data:`IDLE_TRIM_S` seconds. Speed of the old unbounded setting, resident memory of
the untuned process at rest (``docs/benchmarks/cpu.md``).

A training process keeps whole steps' activations on the heap instead
(:func:`tune_malloc_for_training`, 1 GiB thresholds): it works until it exits, and unbounded
thresholds save it the third of its CPU time that the kernel spent zeroing pages.

The entry points (``zssbir-cli``, the app) call :func:`tune_malloc` once at start-up; it does
nothing on other C libraries, when the user set glibc's own ``MALLOC_*`` variables, or when
``ZSSBIR_MALLOC_TUNING=0``. A refused ``mallopt`` is logged and shown by ``zssbir-cli doctor``.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import logging
import os
import platform
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

OPT_OUT_VARIABLE = "ZSSBIR_MALLOC_TUNING"
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20
"""Blocks at least this large are mapped afresh; glibc 2.30's source refuses more on 64-bit."""
TRIM_THRESHOLD = 128 * 2**20
"""Free memory at the top of the heap kept between batches (more is given back at once)."""
IDLE_TRIM_S = 2.0
SETTINGS = (("M_MMAP_THRESHOLD", M_MMAP_THRESHOLD, MMAP_THRESHOLD), ("M_TRIM_THRESHOLD", M_TRIM_THRESHOLD, TRIM_THRESHOLD))
"""(name, mallopt option, value) of each setting :func:`tune_malloc` makes."""
TRAINING_THRESHOLD = 2**30
"""Mmap and trim threshold of a training process: a step's activations (a few hundred MiB, single
tensors of 100 MiB at 64 images of 224 px) stay on the heap for the next step."""
TRAINING_SETTINGS = (("M_MMAP_THRESHOLD", M_MMAP_THRESHOLD, TRAINING_THRESHOLD),
                     ("M_TRIM_THRESHOLD", M_TRIM_THRESHOLD, TRAINING_THRESHOLD))
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MallocTuning:
    """What :func:`tune_malloc` did: ``applied`` only when both thresholds were accepted."""

    applied: bool
    detail: str


_status = MallocTuning(False, "not tried (the entry point did not call tune_malloc)")


def _libc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def tune_malloc(settings: tuple[tuple[str, int, int], ...] = SETTINGS) -> MallocTuning:
    """Make the mallopt ``settings`` for this process (glibc's mmap and trim thresholds); every one
    is tried even when another was refused, and a refusal is logged as a warning."""
    global _status
    if os.environ.get(OPT_OUT_VARIABLE, "1") == "0":
        _status = MallocTuning(False, f"off ({OPT_OUT_VARIABLE}=0)")
    elif set_by_user := [name for name in _USER_SETTINGS if name in os.environ]:
        _status = MallocTuning(False, f"left to the user's own {', '.join(set_by_user)}")
    elif (libc := _libc()) is None:
        _status = MallocTuning(False, "not glibc: the C library's own malloc policy is used")
    else:
        refused = [f"{name}={value}" for name, option, value in settings if libc.mallopt(option, value) != 1]
        if refused:
            _status = MallocTuning(False, f"glibc {platform.libc_ver()[1]} refused mallopt {', '.join(refused)}")
            log.warning("malloc tuning: %s; CPU work will be slower", _status.detail)
        else:
            made = ", ".join(f"{name} {value >> 20} MiB" for name, _, value in settings)
            idle = f", trimmed after {IDLE_TRIM_S:g} s idle" if settings == SETTINGS else ""
            _status = MallocTuning(True, made + idle)
    return _status


def tune_malloc_for_training() -> MallocTuning:
    """:func:`tune_malloc` for a process that trains until it exits: :data:`TRAINING_SETTINGS`
    (freed activations stay on the heap for the next step instead of being mapped and zeroed
    afresh), or the bounded :data:`SETTINGS` where glibc refuses them."""
    status = tune_malloc(TRAINING_SETTINGS)
    if not status.applied and status.detail.startswith("glibc"):
        status = tune_malloc(SETTINGS)
    return status


def malloc_status() -> MallocTuning:
    """The outcome of the last :func:`tune_malloc` in this process."""
    return _status


def release_free_memory() -> bool:
    """Give the heap's free pages back to the kernel now (glibc only); True when any were."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


class _IdleTrimmer:
    """One daemon thread that, ``delay`` seconds after the last :meth:`touch`, runs the release
    functions handed to it since the last time (held weakly: a model dropped meanwhile is not kept
    alive for this) and then :func:`release_free_memory` where :func:`tune_malloc` applied.

    :meth:`stop` runs at exit: a release still running in native code when Python finalizes would
    abort the process (the thread is ended inside ONNX Runtime's C++ frames: "terminate called
    without an active exception"), so exit waits for it and starts no other."""

    def __init__(self, delay: float):
        self.delay = delay
        self._stopping = False
        self._deadline: float | None = None
        self._releases: list[weakref.WeakMethod[Callable[[], object]]] = []
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def touch(self, release: Callable[[], object] | None = None) -> None:
        with self._wake:
            self._deadline = time.monotonic() + self.delay
            if release is not None and (handle := weakref.WeakMethod(release)) not in self._releases:
                self._releases.append(handle)
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._run, name="zssbir-malloc-trim", daemon=True)
                self._thread.start()
            self._wake.notify()

    def stop(self, timeout: float = 30.0) -> None:
        """End the thread, after the release it is running (if any), and wait up to ``timeout``."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._deadline is None and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                self._deadline = None
                releases, self._releases = self._releases, []
            for handle in releases:
                if (release := handle()) is not None:
                    try:
                        release()
                    except Exception:  # a failed release costs memory, never the process
                        log.warning("releasing idle memory failed", exc_info=True)
            if _status.applied:
                release_free_memory()


_trimmer = _IdleTrimmer(IDLE_TRIM_S)
atexit.register(_trimmer.stop)


def trim_when_idle(release: Callable[[], object] | None = None) -> None:
    """Give memory back once no call to this has come for :data:`IDLE_TRIM_S` seconds: first
    ``release`` (a bound method, for an allocator of the caller's own such as ONNX Runtime's arena),
    then the heap's free pages (when :func:`tune_malloc` applied; otherwise glibc trims on its own)."""
    if release is not None or _status.applied:
        _trimmer.touch(release)
