"""Loaded at start-up by the child processes of ``tests/test_without_torch.py`` (this folder is put
first on their PYTHONPATH): importing torch, torchvision or anything under them fails, as in the
default install, where they are not installed."""

import sys

BLOCKED = ("torch", "torchvision", "torchaudio", "triton")


class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"No module named {name!r} (blocked: the default install has no torch)")
        return None


sys.meta_path.insert(0, _Blocked())
