"""Render the application icon ``resources/app.svg`` to the PNG sizes desktops ask for.

Run from the repository root after changing the SVG::

    python packaging/render_icons.py

Writes ``resources/app-<N>.png`` for every size in ``APP_ICON_SIZES`` with Qt's own SVG renderer
(QtSvg ships with PySide6-Essentials), so no other tool is needed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESOURCES = REPO_ROOT / "resources"
sys.path.insert(0, str(REPO_ROOT))

from zssbir_desktop.resources_path import APP_ICON_SIZES  # noqa: E402


def render(svg: Path, size: int):
    """The SVG drawn into a transparent ``size`` x ``size`` ARGB QImage."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG for Qt")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    """Write every PNG size; the exit status says whether all were written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication([])
    svg = RESOURCES / "app.svg"
    for size in APP_ICON_SIZES:
        target = RESOURCES / f"app-{size}.png"
        if not render(svg, size).save(str(target), "PNG"):
            print(f"could not write {target}", file=sys.stderr)
            return 1
        print(f"wrote {target.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
