"""zssbir_core must never import Qt: a command line, a server or a notebook can use it alone."""

import subprocess
import sys

import pytest

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]  # the child imports every core module, torch too

SCRIPT = """
import importlib, pkgutil, sys
import zssbir_core
for info in pkgutil.walk_packages(zssbir_core.__path__, "zssbir_core."):
    if info.name != "zssbir_core.__main__":
        importlib.import_module(info.name)
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6"))
print(",".join(qt))
"""


def test_importing_every_core_module_loads_no_qt():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
