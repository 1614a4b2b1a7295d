"""Opening a photo with the system viewer and showing it in the system's file manager."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QUrl
from PySide6.QtGui import QDesktopServices


def open_with_system(path: Path) -> bool:
    """Open ``path`` in the default application; False if the system refused."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def show_in_file_manager(path: Path) -> bool:
    """Reveal ``path`` selected in the file manager (Finder, Explorer, or a freedesktop one);
    where selecting is not possible, open its folder."""
    path = Path(path)
    if sys.platform == "darwin":
        return QProcess.startDetached("open", ["-R", str(path)])[0]
    if sys.platform == "win32":
        return QProcess.startDetached("explorer", [f"/select,{path}"])[0]
    try:
        from PySide6.QtDBus import QDBusConnection, QDBusInterface

        bus = QDBusConnection.sessionBus()
        if bus.isConnected():
            manager = QDBusInterface(
                "org.freedesktop.FileManager1",
                "/org/freedesktop/FileManager1",
                "org.freedesktop.FileManager1",
                bus,
            )
            if manager.isValid():
                reply = manager.call("ShowItems", [QUrl.fromLocalFile(str(path)).toString()], "")
                if not reply.errorName():
                    return True
    except ImportError:
        pass
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))
