"""Where the app's icons live, found through ``importlib.resources`` (no Qt needed).

The repository keeps them in ``resources/`` at its root; the build maps that folder into the
package as ``zssbir_desktop.resources``, so the same lookup works from a wheel, an editable
install and a PyInstaller bundle.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

APP_ID = "io.github.zssbir.zssbir"
"""Reverse-DNS id: the .desktop file's name, the AppStream id and the icon-theme name."""

APP_ICON_SIZES: tuple[int, ...] = (16, 24, 32, 48, 64, 128, 256, 512)
"""Pixel sizes of the rendered ``app-<N>.png`` files beside ``app.svg``."""

RESOURCE_PACKAGE = "zssbir_desktop.resources"


def resource_file(name: str) -> Path:
    """Absolute path of the resource ``name`` (e.g. ``"pen.svg"``, ``"app-64.png"``).

    Raises ``FileNotFoundError`` naming the file and the folder searched when it is absent.
    """
    folder = Path(str(files(RESOURCE_PACKAGE)))
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(f"resource {name!r} not found in {folder}")
    return path


def app_icon_files() -> list[Path]:
    """The application icon at every rendered size, smallest first, then the SVG."""
    return [resource_file(f"app-{size}.png") for size in APP_ICON_SIZES] + [resource_file("app.svg")]
