import logging
import os
import platform
import subprocess
import sys

import pytest

from zssbir_core import cpu_allocator
from zssbir_core.cpu_allocator import M_MMAP_THRESHOLD, MMAP_THRESHOLD, tune_malloc

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Run a small convolutional network over the same batch ten times and report the median page faults
# of the last seven passes (the first three settle the heap). Each activation is 16 MiB = 4096
# pages: under the 32 MiB mmap threshold, as Embedder's micro-batches keep them. Then hand the freed
# heap back the way an idle Embedder does and report the resident memory before and after.
PROBE = """
import resource, time, torch
from zssbir_core import cpu_allocator
print(cpu_allocator.tune_malloc().applied)
net = torch.nn.Sequential(torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(32, 32, 3, padding=1),
                          torch.nn.ReLU(), torch.nn.Conv2d(32, 8, 3, padding=1)).eval()
x = torch.randn(8, 3, 128, 128)
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
with torch.inference_mode():
    for _ in range(3):
        net(x)
    faults = []
    for _ in range(7):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        net(x)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(sorted(faults)[3])
busy = rss()
cpu_allocator.trim_when_idle()
time.sleep(cpu_allocator.IDLE_TRIM_S + 1.5)
print(busy - rss())
"""


# The default model (ONNX Runtime) embeds a photo, then an idle release that runs the network for a
# few seconds starts, and Python exits while it runs: exit must wait for it, not abort the process
# ("terminate called without an active exception" when the thread is ended inside ONNX Runtime).
EXIT_DURING_RELEASE = """
import sys, time
import numpy as np
from PIL import Image
from zssbir_core import cpu_allocator
from zssbir_core.models import load_model
embedder = load_model("default")
embedder.embed_images([Image.new("RGB", (64, 64), (200, 40, 40))])
side = embedder.preprocessing.image_size
class SlowRelease:
    def release(self):
        for _ in range(30):
            embedder.session.run(None, {"x": np.zeros((8, 3, side, side), dtype=np.float32)})
        print("released", flush=True)
slow = SlowRelease()
cpu_allocator.trim_when_idle(slow.release)
time.sleep(cpu_allocator.IDLE_TRIM_S + 0.5)
print("exiting", flush=True)
"""


def probe(env_changes: dict[str, str]) -> tuple[bool, int, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**env, **env_changes}, capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0] == "True", int(out[1]), int(out[2])


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_freed_tensor_memory_is_reused_then_given_back_when_idle():
    applied, faults, released = probe({})
    untuned_applied, _untuned_faults, _ = probe({"ZSSBIR_MALLOC_TUNING": "0"})
    assert applied and not untuned_applied
    activation_pages = 16 * 2**20 // 4096
    # tuned, the heap keeps the activations between passes: the median pass faults in less than a
    # quarter of one activation (0 faults seen here; one pass in a few grows the heap by one
    # activation, 4,096 faults, while the threads' allocations settle). Untuned, glibc's sliding
    # mmap threshold decides, and nothing is asserted: 0, 2,052 and 12,256 faults a pass were seen.
    assert faults < activation_pages // 4
    assert released > 16 * 2**20  # and the idle trim returns at least one activation's worth


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_a_refused_setting_is_reported_and_does_not_stop_the_others(caplog):
    # glibc refuses a fastbin limit above 80 words (M_MXFAST = 1), which stands in for a value an
    # older glibc refuses (2.30's source refuses an mmap threshold above 32 MiB).
    settings = (("M_MXFAST", 1, 1 << 20), ("M_MMAP_THRESHOLD", M_MMAP_THRESHOLD, MMAP_THRESHOLD), ("M_MXFAST", 1, 1 << 21))
    try:
        with caplog.at_level(logging.WARNING, logger="zssbir_core.cpu_allocator"):
            status = tune_malloc(settings)
        assert not status.applied
        assert f"M_MXFAST={1 << 20}" in status.detail and f"M_MXFAST={1 << 21}" in status.detail  # both tried
        assert "M_MMAP_THRESHOLD" not in status.detail
        assert cpu_allocator.malloc_status() == status
        assert any("refused" in record.getMessage() for record in caplog.records)
    finally:
        tune_malloc()


@pytest.mark.parametrize("variable", ["MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES"])
def test_the_users_own_malloc_settings_are_left_alone(monkeypatch, variable):
    monkeypatch.setenv(variable, "65536" if variable.startswith("MALLOC") else "glibc.malloc.arena_max=2")
    status = tune_malloc()
    assert not status.applied and variable in status.detail


def test_opt_out(monkeypatch):
    monkeypatch.setenv("ZSSBIR_MALLOC_TUNING", "0")
    assert tune_malloc().applied is False


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_training_keeps_whole_steps_on_the_heap_or_falls_back_to_the_bounded_setting(monkeypatch):
    try:
        status = cpu_allocator.tune_malloc_for_training()
        assert status.applied and f"M_MMAP_THRESHOLD {cpu_allocator.TRAINING_THRESHOLD >> 20} MiB" in status.detail
        # a glibc that refuses the large threshold (2.30's source refuses more than 32 MiB) gets the bounded one
        monkeypatch.setattr(cpu_allocator, "TRAINING_SETTINGS", (("M_MXFAST", 1, 1 << 20),))
        status = cpu_allocator.tune_malloc_for_training()
        assert status.applied and f"M_MMAP_THRESHOLD {MMAP_THRESHOLD >> 20} MiB" in status.detail
    finally:
        tune_malloc()


@pytest.mark.slow
@pytest.mark.subprocess
def test_exit_waits_for_an_idle_release_running_in_onnx_runtime():
    done = subprocess.run([sys.executable, "-c", EXIT_DURING_RELEASE], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["exiting", "released"]
