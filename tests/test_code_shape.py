"""The house rules a tool can check: the import contracts of ``[tool.importlinter]`` (core free of
Qt, the desktop on the core API only, the core's layers) and the lint rules of ``[tool.ruff]``,
both in ``pyproject.toml`` (``docs/architecture.md`` explains the layers); and no source file over 500 lines."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = 4
"""The contracts in pyproject.toml: a smaller count kept means one was dropped or misnamed."""


def test_every_core_module_is_in_the_contracts() -> None:
    """A new module of the core is placed in its layers and kept from the desktop, not forgotten."""
    tomllib = pytest.importorskip("tomllib")
    contracts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    protected = next(c for c in contracts if c["type"] == "protected")["protected_modules"]
    layered = {name.strip() for c in contracts if c["type"] == "layers" for layer in c["layers"] for name in layer.split("|")}
    modules = {f"zssbir_core.{p.stem}" for p in (REPO_ROOT / "zssbir_core").iterdir()
               if (p.suffix == ".py" or (p / "__init__.py").is_file()) and not p.name.startswith("__")}
    public = {"zssbir_core.api", "zssbir_core.errors", "zssbir_core.paths"}
    assert modules - public == set(protected), "the desktop must not reach these; list new ones in the protected contract"
    assert modules <= layered, f"not in the core's layers: {sorted(modules - layered)}"


def test_the_desktop_is_in_feature_folders() -> None:
    """At most 8 modules loose at zssbir_desktop's top level: the rest live in their feature's folder."""
    loose = sorted(p.name for p in (REPO_ROOT / "zssbir_desktop").glob("*.py"))
    assert len(loose) <= 8, loose


def _tool(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.is_file() else shutil.which(name)
    assert found, f"{name} is missing: pip install -e '.[test]'"
    return found


@pytest.mark.subprocess
def test_import_contracts_hold():
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}  # analyse this checkout, not an installed copy
    result = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    kept = re.search(r"Contracts: (\d+) kept, 0 broken", result.stdout)
    assert kept and int(kept.group(1)) == CONTRACTS, result.stdout


@pytest.mark.subprocess
def test_ruff_finds_nothing():
    result = subprocess.run([_tool("ruff"), "check", "--no-cache", "."], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


MAX_LINES = 500


def test_no_source_file_is_over_500_lines():
    sources = sorted(path for package in ("zssbir_core", "zssbir_desktop") for path in (REPO_ROOT / package).rglob("*.py"))
    assert sources, "no source files found"
    lengths = {path.relative_to(REPO_ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines()) for path in sources}
    too_long = {name: count for name, count in lengths.items() if count > MAX_LINES}
    assert not too_long, f"over {MAX_LINES} lines (split them by what they hold): {too_long}"


def test_the_desktop_writes_no_built_in_model_name() -> None:
    """The catalog knows the models: the app asks it (``api.weights_file_model``, ``model_choices``)."""
    from zssbir_core.models.catalog import BUILTIN_MODELS, DEFAULT_ALIAS

    names = {model.id for model in BUILTIN_MODELS} | {model.short_label for model in BUILTIN_MODELS if model.short_label}
    written = [f"{path.relative_to(REPO_ROOT)}: {name}" for path in sorted((REPO_ROOT / "zssbir_desktop").rglob("*.py"))
               for name in sorted(names) if name.lower() in path.read_text(encoding="utf-8").lower()]
    assert not written and DEFAULT_ALIAS not in names, written
