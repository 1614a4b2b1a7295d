"""The real data rule of tests/conftest.py, run in a child pytest on a copy of the checkout's pyproject.toml
and tests/conftest.py with no ../shared/data beside it: a test that needs the data skips locally and fails
under CI, saying what is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, running_in_ci

NEEDS_DATA = """
def test_reads_the_sample(shared_sketchy_root):
    assert (shared_sketchy_root / "photo").is_dir()


def test_needs_nothing():
    pass
"""


def _run_without_data(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    checkout = tmp_path / "checkout"
    (checkout / "tests").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "pyproject.toml", checkout)
    shutil.copy2(REPO_ROOT / "tests" / "conftest.py", checkout / "tests")
    (checkout / "tests" / "test_data.py").write_text(NEEDS_DATA, encoding="utf-8")
    assert not (tmp_path / "shared").exists()
    env = {name: value for name, value in os.environ.items() if name != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests"], cwd=checkout,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.subprocess
def test_missing_data_fails_under_ci(tmp_path: Path) -> None:
    result = _run_without_data(tmp_path, "true")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed, 1 error in" in result.stdout, result.stdout
    expected = tmp_path / "shared" / "data" / "sketchy-seen100" / "photo"
    assert f"the real Sketchy sample is missing: no {expected}" in result.stdout
    assert "under CI every test must run" in result.stdout


@pytest.mark.subprocess
def test_missing_data_skips_locally_with_the_reason(tmp_path: Path) -> None:
    result = _run_without_data(tmp_path, None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 skipped in" in result.stdout, result.stdout
    assert "SKIPPED" in result.stdout and "the real Sketchy sample is missing" in result.stdout


@pytest.mark.parametrize(("value", "ci"), [("true", True), ("1", True), ("yes", True), ("TRUE", True),
                                           ("", False), ("false", False), ("0", False), ("no", False)])
def test_what_counts_as_ci(monkeypatch: pytest.MonkeyPatch, value: str, ci: bool) -> None:
    monkeypatch.setenv("CI", value)
    assert running_in_ci() is ci


def test_unset_ci_is_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert not running_in_ci()
