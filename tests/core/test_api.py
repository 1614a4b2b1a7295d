"""``zssbir_core.api``: importing it is cheap (the app's window appears before torch loads), and
every name it offers resolves to the real thing."""

import subprocess
import sys

import pytest

SCRIPT = "import sys, zssbir_core.api; print(sorted(m for m in ('torch', 'PySide6') if m in sys.modules))"


@pytest.mark.subprocess
def test_importing_the_api_loads_neither_torch_nor_qt():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", "torch is imported on first use, not on import"


def test_every_name_resolves_to_the_core_itself():
    from zssbir_core import api
    from zssbir_core.library import PhotoLibrary
    from zssbir_core.models.registry import Embedder

    assert all(getattr(api, name) is not None for name in api.__all__)
    assert api.PhotoLibrary is PhotoLibrary and api.Embedder is Embedder
    assert api.resolve_device("cpu") == "cpu"
    assert api.training_command(["--recipe", "quick"])[1][-4:] == ["--recipe", "quick", "--progress", "json"]
