"""The app's icons and Linux desktop integration: well-formed, found through importlib.resources,
shipped in the wheel, registered and removed again for the current user."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from zssbir_desktop.resources_path import APP_ICON_SIZES, APP_ID, app_icon_files, resource_file

REPO_ROOT = Path(__file__).resolve().parents[2]
LINUX = REPO_ROOT / "packaging" / "linux"
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


@pytest.mark.subprocess
def test_accessor_does_not_load_qt() -> None:
    code = (
        "import sys; from zssbir_desktop.resources_path import resource_file; "
        "resource_file('pen.svg'); assert 'PySide6' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


@pytest.mark.slow
@pytest.mark.subprocess
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
    from zssbir_core.models.catalog import BUILTIN_MODELS, DEFAULT_MODEL

    packaged = [model.id for model in BUILTIN_MODELS if model.source == "packaged"]
    assert DEFAULT_MODEL in packaged  # the default model (docs/model-card.md) and the earlier ones
    for model_id in packaged:
        for name in ("model.safetensors", "model.json"):
            assert f"zssbir_core/models/packaged/{model_id}/{name}" in names
    # four packaged models, each as float16 safetensors and ONNX with float16 weights (22 MB a Lite1
    # model, 24.8 MB the Lite2 one), and the rest; under PyPI's default limit for one file (100 MB)
    assert wheel.stat().st_size < 100 * 1000 * 1000

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


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


@pytest.mark.subprocess
def test_desktop_file_passes_desktop_file_validate() -> None:
    validator = _tool("desktop-file-validate")
    result = subprocess.run([validator, str(LINUX / f"{APP_ID}.desktop")],
                            capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout


@pytest.mark.subprocess
def test_metainfo_passes_appstreamcli_validate() -> None:
    appstreamcli = _tool("appstreamcli")
    result = subprocess.run(
        [appstreamcli, "validate", "--no-net", "--pedantic", str(LINUX / f"{APP_ID}.metainfo.xml")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "W:" not in result.stdout and "I:" not in result.stdout, result.stdout


@pytest.mark.subprocess
def test_install_script_registers_and_removes_the_menu_entry(tmp_path: Path) -> None:
    program = Path(_tool("zssbir")).resolve().parent / "zssbir"  # the installed app launcher
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share")}
    script = str(LINUX / "install-desktop-entry.sh")

    subprocess.run(["bash", script, "--exec", str(program)], check=True, env=env,
                   capture_output=True)
    share = tmp_path / "share"
    entry = share / "applications" / f"{APP_ID}.desktop"
    assert f'Exec="{program}"' in entry.read_text().splitlines()
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert (share / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg").is_file()
    for size in APP_ICON_SIZES:
        assert (share / f"icons/hicolor/{size}x{size}/apps/{APP_ID}.png").is_file()
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", str(entry)], check=True)

    subprocess.run(["bash", script, "--uninstall"], check=True, env=env, capture_output=True)
    assert not [p for p in share.rglob(f"{APP_ID}*")]


@pytest.mark.subprocess
def test_install_script_refuses_a_missing_program(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share")}
    result = subprocess.run(
        ["bash", str(LINUX / "install-desktop-entry.sh"), "--exec", str(tmp_path / "nope")],
        env=env, capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert "is not an executable program" in result.stderr
    assert not (tmp_path / "share" / "applications").exists()


@pytest.mark.subprocess
@pytest.mark.parametrize(("module", "program"), [("zssbir_core", "zssbir-cli"), ("zssbir_desktop", "zssbir")])
def test_python_m_runs_the_same_program_as_the_script(module: str, program: str) -> None:
    result = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True,
                            cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {program} ")


def test_metainfo_screenshots_are_the_repository_screenshots() -> None:
    """Each AppStream screenshot names a PNG in docs/screenshots/."""
    root = ET.parse(LINUX / f"{APP_ID}.metainfo.xml").getroot()
    images = root.findall("./screenshots/screenshot/image")
    assert images
    for image in images:
        local = REPO_ROOT / "docs" / "screenshots" / Path(image.text.strip()).name
        with Image.open(local) as picture:
            assert picture.format == "PNG", local.name
