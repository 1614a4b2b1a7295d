"""Proof that torch stays out of the default install: the CLI's index, search, eval and embed and
the app's search path run in child processes where importing torch or torchvision fails
(``tests/without_torch/sitecustomize.py``), and the project's unconditional dependencies name
neither."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.desktop.fixtures import copy_photos

BLOCKER = Path(__file__).parent / "without_torch"
TIMEOUT_S = 600


def _env(tmp_path: Path) -> dict[str, str]:
    path = os.pathsep.join([str(BLOCKER), str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "ZSSBIR_DATA_DIR": str(tmp_path / "data"), "QT_QPA_PLATFORM": "offscreen"}


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "zssbir_core", *args], env=_env(tmp_path), capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_blocker_blocks(tmp_path) -> None:
    done = subprocess.run([sys.executable, "-c", "import torchvision"], env=_env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 1 and "blocked" in done.stderr


@pytest.mark.slow
@pytest.mark.subprocess
def test_cli_index_search_eval_embed_without_torch(tmp_path, sketchy_root) -> None:
    photos = copy_photos(sketchy_root, tmp_path / "photos", per_class=2)
    sketch = next((sketchy_root / "sketch").glob("*/*.png"))
    library = str(tmp_path / "library")
    _cli(tmp_path, "index", "--library", library, "--add", str(photos), "--progress", "none")
    found = json.loads(_cli(tmp_path, "search", "--library", library, "--sketch", str(sketch), "--k", "3", "--json").stdout)
    assert len(json.dumps(found)) > 0 and str(photos) in json.dumps(found)
    data = tmp_path / "eval"
    for domain, pattern in (("photo", "*.jpg"), ("sketch", "*.png")):
        for folder in sorted((sketchy_root / domain).iterdir())[:2]:
            (data / domain / folder.name).mkdir(parents=True)
            for file in sorted(folder.glob(pattern))[:3]:
                (data / domain / folder.name / file.name).write_bytes(file.read_bytes())
    report = json.loads(_cli(tmp_path, "eval", "--data", str(data), "--json", "--query-expansion", "2").stdout)
    assert report["model"] == "sketch-lite2-v4" and 0 < report["metrics"]["map_all"] <= 1
    _cli(tmp_path, "embed", str(photos), "--output", str(tmp_path / "vectors.npz"))
    assert (tmp_path / "vectors.npz").stat().st_size > 0
    doctor = json.loads(_cli(tmp_path, "doctor", "--json").stdout)
    assert doctor["runtime"]["training"].startswith("not installed") and "zssbir[train]" in doctor["runtime"]["training"]
    refused = subprocess.run([sys.executable, "-m", "zssbir_core", "search", "--library", library, "--sketch", str(sketch),
                              "--model", "lite0-imagenet"], env=_env(tmp_path), capture_output=True, text=True)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr and "zssbir[train]" in refused.stderr


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_app_searches_without_torch(tmp_path) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(BLOCKER / "app_search.py")], cwd=REPO_ROOT, env=_env(tmp_path), capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout


def test_unconditional_dependencies_have_no_torch() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    names = [dependency.split(">")[0].split("=")[0].split("[")[0].strip().lower() for dependency in project["dependencies"]]
    assert "onnxruntime" in names
    assert not [name for name in names if name.startswith(("torch", "torchvision", "efficientnet", "nvidia", "triton"))]
    train = " ".join(project["optional-dependencies"]["train"])
    assert "torch>=" in train and "torchvision>=" in train and "onnx>=" in train
    assert any("zssbir[train" in item for item in project["optional-dependencies"]["test"])
