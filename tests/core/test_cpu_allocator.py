import os
import platform
import subprocess
import sys

import pytest

from zssbir_core.cpu_allocator import keep_freed_memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Run a small convolutional network over the same batch five times and count the page faults of
# the last two passes (the first three settle the heap). Each activation is 32 MiB = 8192 pages.
PROBE = """
import resource, torch
from zssbir_core.cpu_allocator import keep_freed_memory
print(keep_freed_memory())
net = torch.nn.Sequential(torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(32, 32, 3, padding=1),
                          torch.nn.ReLU(), torch.nn.Conv2d(32, 8, 3, padding=1)).eval()
x = torch.randn(16, 3, 128, 128)
with torch.inference_mode():
    for _ in range(3):
        net(x)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    net(x)
    net(x)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def probe(env_changes: dict[str, str]) -> tuple[bool, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**env, **env_changes}, capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_freed_tensor_memory_is_reused_without_page_faults():
    applied, faults = probe({})
    untuned_applied, untuned_faults = probe({"ZSSBIR_MALLOC_TUNING": "0"})
    assert applied and not untuned_applied
    activation_pages = 32 * 2**20 // 4096
    assert untuned_faults > 2 * activation_pages  # glibc mapped the activations afresh in each pass
    assert faults * 4 < untuned_faults  # tuned: the heap keeps them (at most one activation re-faulted)


@pytest.mark.parametrize("variable", ["MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES"])
def test_the_users_own_malloc_settings_are_left_alone(monkeypatch, variable):
    monkeypatch.setenv(variable, "65536" if variable.startswith("MALLOC") else "glibc.malloc.arena_max=2")
    assert keep_freed_memory() is False


def test_opt_out(monkeypatch):
    monkeypatch.setenv("ZSSBIR_MALLOC_TUNING", "0")
    assert keep_freed_memory() is False
