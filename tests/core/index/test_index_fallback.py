"""Exact numpy search, the index used when hnswlib cannot be imported: its answers against brute
force, its saves, and the library, CLI and doctor run for real in a child without hnswlib."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zssbir_core.index import ExactIndex, IndexMismatchError

REPO_ROOT = Path(__file__).resolve().parents[3]
WITHOUT_HNSWLIB = "import sys; sys.modules['hnswlib'] = None\n"  # `import hnswlib` raises ImportError


def unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force(ids: list[int], vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    scores = vectors @ query
    return [ids[i] for i in np.argsort(-scores, kind="stable")[:k]]


def test_answers_equal_brute_force_after_adds_replacements_and_removals():
    vectors = unit_rows(300, 24)
    index = ExactIndex(24, model_id="m", capacity=16)  # grows
    index.add(list(range(300)), vectors)
    index.add([5], unit_rows(1, 24, seed=9))  # replace
    vectors[5] = unit_rows(1, 24, seed=9)[0]
    index.remove([7, 8, 299, 12345])
    live = [i for i in range(300) if i not in (7, 8, 299)]
    assert index.count == len(live) and 7 not in index and 5 in index
    for query in unit_rows(5, 24, seed=1):
        hits = index.search(query, 10)
        assert [i for i, _ in hits] == brute_force(live, vectors[live], query, 10)
        assert hits[0][1] == pytest.approx(float(vectors[hits[0][0]] @ query), abs=1e-5)
    allowed = set(range(0, 300, 3)) - {299}
    hits = index.search(vectors[3], 5, allowed=allowed)
    assert hits[0][0] == 3 and all(i in allowed for i, _ in hits)
    assert index.search(vectors[3], 5, allowed=set()) == []
    assert len(index.search(vectors[3], 10_000)) == len(live)


def test_save_load_round_trip_and_refusals(tmp_path):
    index = ExactIndex(8, model_id="m")
    index.add([3, 1, 2], unit_rows(3, 8))
    index.save(tmp_path, generation=4)
    loaded = ExactIndex.load(tmp_path, model_id="m", generation=4, count=3)
    query = unit_rows(1, 8, seed=3)[0]
    assert loaded.search(query, 3) == index.search(query, 3)
    for changed in ({"model_id": "other"}, {"generation": 5}, {"count": 2}):
        with pytest.raises(IndexMismatchError):
            ExactIndex.load(tmp_path, **{"model_id": "m", "generation": 4, "count": 3, **changed})
    (tmp_path / "exact-4.npz").write_bytes(b"truncated")
    with pytest.raises(IndexMismatchError):
        ExactIndex.load(tmp_path, model_id="m", generation=4, count=3)


def _child_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "ZSSBIR_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO_ROOT),
            "QT_QPA_PLATFORM": "offscreen"}


@pytest.mark.slow
@pytest.mark.subprocess
def test_library_and_cli_tests_pass_without_hnswlib(tmp_path):
    code = (WITHOUT_HNSWLIB + "import pytest\n"
            "from zssbir_core.index import index_backend\nassert index_backend() == 'exact'\n"
            f"sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '--basetemp', {str(tmp_path / 'run')!r}, "
            "'tests/core/test_search.py', 'tests/core/cli/test_library_cli.py']))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=_child_env(tmp_path),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout.splitlines()[-1]


@pytest.mark.slow
@pytest.mark.subprocess
def test_doctor_says_search_is_exact_without_hnswlib(tmp_path):
    code = WITHOUT_HNSWLIB + "from zssbir_core.cli import main\nsys.exit(main(['doctor', '--json']))\n"
    result = subprocess.run([sys.executable, "-c", code], env=_child_env(tmp_path), capture_output=True, text=True)
    report = json.loads(result.stdout)
    assert report["runtime"]["vector index"].startswith("exact")
    assert any("hnswlib" in warning and "compiler" in warning for warning in report["warnings"])
    assert not any("hnswlib" in problem for problem in report["problems"])
