"""``zssbir-cli doctor``: real checks of this installation, run the way a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zssbir_core.cli.doctor_cmd import _platform_plugin, missing_libraries

pytestmark = pytest.mark.subprocess  # the doctor runs in a child (it must not import Qt), ldd too

REPO_ROOT = Path(__file__).resolve().parents[3]

# Run doctor in a fresh interpreter (pytest-qt has loaded Qt into this one) and prove that the
# zssbir_core process itself never imports Qt.
RUN_DOCTOR = (
    "import sys\n"
    "from zssbir_core.cli import main\n"
    "code = main(['doctor'] + sys.argv[1:])\n"
    "assert 'PySide6' not in sys.modules, 'doctor imported Qt'\n"
    "sys.exit(code)\n"
)


def _doctor(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "ZSSBIR_DATA_DIR": str(tmp_path / "data"),
                   "TORCH_HOME": str(tmp_path / "torch"), "QT_QPA_PLATFORM": "offscreen", **env}
    return subprocess.run([sys.executable, "-c", RUN_DOCTOR, *args], cwd=REPO_ROOT, env=environment,
                          capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_json_report_covers_versions_devices_paths_weights_and_qt(tmp_path: Path) -> None:
    result = _doctor(tmp_path, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    for name in ("python", "zssbir", "torch", "torchvision", "PySide6", "hnswlib", "numpy", "pillow"):
        assert report["versions"][name], name
    assert report["devices"][-1]["name"] == "cpu"
    assert report["default_device"] == "cpu"  # conftest hides CUDA from the whole test run
    assert report["paths"]["data"] == {"path": str(tmp_path / "data"), "exists": False,
                                       "set by": "ZSSBIR_DATA_DIR"}
    assert report["paths"]["library"]["path"].startswith(str(tmp_path / "data"))
    assert report["paths"]["torch hub cache"]["path"] == str(tmp_path / "torch" / "hub")
    assert report["models"]["lite0-imagenet"]["present"] is True
    assert report["models"]["resnet50-imagenet"]["present"] is False  # empty TORCH_HOME
    assert any("ResNet50" in warning for warning in report["warnings"])
    assert report["qt"] == {"QT_QPA_PLATFORM": "offscreen", "loads": True,
                            "detail": "platform plugin 'offscreen' loads"}
    assert report["problems"] == []


@pytest.mark.slow
def test_qt_plugin_that_cannot_load_fails_with_the_reason(tmp_path: Path) -> None:
    """Qt aborts the child process; doctor survives it, reports everything else and says why."""
    result = _doctor(tmp_path, QT_QPA_PLATFORM="no-such-platform")
    assert result.returncode == 1
    for heading in ("Versions", "Devices", "Paths", "Models", "Qt"):
        assert f"\n{heading}\n" in f"\n{result.stdout}"
    assert ('problem: the Qt platform plugin cannot load: Could not find the Qt platform plugin '
            '"no-such-platform"') in result.stdout
    assert "1 problem(s) found" in result.stdout


@pytest.mark.slow
def test_data_folder_that_is_a_file_is_a_problem(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    result = _doctor(tmp_path, "--json")
    assert result.returncode == 1
    problems = json.loads(result.stdout)["problems"]
    assert f"the data folder {blocker} cannot be used: {blocker} is a file, not a folder" in problems


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("ldd") is None,
                    reason="needs Linux and ldd")
def test_missing_shared_libraries_are_named(tmp_path: Path) -> None:
    """A copy of the real xcb plugin away from Qt's lib folder cannot resolve Qt's libraries."""
    plugin = _platform_plugin("xcb")
    assert plugin is not None
    moved = tmp_path / plugin.name
    shutil.copy2(plugin, moved)
    missing = missing_libraries(moved)
    assert "libQt6XcbQpa.so.6" in missing
    assert all(name not in missing for name in ("libc.so.6", "libm.so.6"))
