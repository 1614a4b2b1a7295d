"""The app's icons: present, well-formed, found through importlib.resources, shipped in the wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from zssbir_desktop.resources_path import APP_ICON_SIZES, app_icon_files, resource_file

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL_ICONS = (
    "pen", "eraser", "undo", "redo", "clear", "open", "find-similar", "folder-add", "settings",
)


@pytest.mark.parametrize("name", ["app", *TOOL_ICONS])
def test_every_svg_icon_is_a_square_svg(name: str) -> None:
    root = ET.parse(resource_file(f"{name}.svg")).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
    assert width == height


def test_app_icon_png_has_every_size_and_transparent_corners() -> None:
    files = app_icon_files()
    assert [f.name for f in files] == [f"app-{s}.png" for s in APP_ICON_SIZES] + ["app.svg"]
    for size, path in zip(APP_ICON_SIZES, files):
        with Image.open(path) as image:
            assert image.size == (size, size)
            assert image.mode == "RGBA"
            assert image.getpixel((0, 0))[3] == 0, "the rounded tile leaves the corners clear"


def test_missing_resource_names_the_file_and_folder() -> None:
    with pytest.raises(FileNotFoundError, match=r"'no-such-icon\.svg' not found in .*resources"):
        resource_file("no-such-icon.svg")


def test_accessor_does_not_load_qt() -> None:
    code = (
        "import sys; from zssbir_desktop.resources_path import resource_file; "
        "resource_file('pen.svg'); assert 'PySide6' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


def test_wheel_ships_resources_inside_the_app_package(tmp_path: Path) -> None:
    """Build a real wheel from a copy of the sources and use it without the checkout."""
    pytest.importorskip("setuptools")
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("zssbir_core", "zssbir_desktop", "resources"):
        shutil.copytree(REPO_ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO_ROOT / name, src / name)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "--wheel-dir", str(wheels), str(src)],
        check=True,
    )
    (wheel,) = wheels.glob("zssbir-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/")[0] for n in names}
    assert top_level == {"zssbir_core", "zssbir_desktop", wheel.name.split("-py")[0] + ".dist-info"}
    for icon in ["app", *TOOL_ICONS]:
        assert f"zssbir_desktop/resources/{icon}.svg" in names
    for size in APP_ICON_SIZES:
        assert f"zssbir_desktop/resources/app-{size}.png" in names

    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    # -S: no site-packages, so nothing but the unpacked wheel can answer the import.
    code = (
        "from zssbir_desktop.resources_path import resource_file; "
        "print(resource_file('app-512.png'))"
    )
    found = subprocess.run(
        [sys.executable, "-S", "-c", code], check=True, capture_output=True, text=True,
        cwd=tmp_path, env={"PYTHONPATH": str(site)},
    ).stdout.strip()
    assert Path(found) == site / "zssbir_desktop" / "resources" / "app-512.png"
