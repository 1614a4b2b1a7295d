"""The app's preferences, kept in QSettings with typed accessors and defaults in one place, and
the one store every part of the app reads them from and changes them through."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal

ORGANIZATION = "zssbir"
APPLICATION = "zssbir"

THEMES = ("system", "light", "dark")
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass
class Preferences:
    """Everything the user can set in the settings dialog.

    ``library_dir`` empty means the default library under platformdirs; ``model`` is a built-in
    model name or a checkpoint directory, empty for "the library's own model, else the default
    model"; ``weights_file`` an optional local weights file for the built-in model whose weights
    are otherwise downloaded.
    """

    device: str = "auto"
    model: str = ""
    weights_file: str = ""
    results_count: int = 24
    thumbnail_size: int = 160
    rescan_on_start: bool = True
    exclude_patterns: tuple[str, ...] = ()
    """The open library's exclude list, as the dialog edits it; kept by the library, not in QSettings."""
    theme: str = "system"
    library_dir: str = ""


NOT_STORED = frozenset({"exclude_patterns"})
"""Preferences that belong to the library, not to QSettings."""
LEGACY_EXCLUDE_KEY = "preferences/exclude_patterns"
"""Where versions before the library owned its exclude list kept it."""


def _coerce(value: object, default: object) -> object:
    """Turn a raw QSettings value (often a string in INI files) into the default's type."""
    if isinstance(default, bool):
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes")
        return bool(value)
    if isinstance(default, int):
        try:
            return int(value) if isinstance(value, (int, float)) else int(str(value))
        except ValueError:
            return default
    if isinstance(default, tuple):
        if value is None or value == "":
            return ()
        if isinstance(value, str):
            return tuple(p for p in value.split("\n") if p)
        return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else (str(value),)
    return "" if value is None else str(value)


def load_preferences(settings: QSettings | None = None) -> Preferences:
    """Read the stored preferences, falling back to defaults for anything missing or invalid."""
    settings = settings or QSettings()
    prefs = Preferences()
    for field in fields(Preferences):
        if field.name in NOT_STORED:
            continue
        default = getattr(prefs, field.name)
        raw = settings.value(f"preferences/{field.name}", None)
        if raw is not None:
            setattr(prefs, field.name, _coerce(raw, default))
    if prefs.theme not in THEMES:
        prefs.theme = "system"
    if prefs.device not in DEVICES:
        prefs.device = "auto"
    prefs.results_count = min(max(prefs.results_count, 4), 500)
    prefs.thumbnail_size = min(max(prefs.thumbnail_size, 64), 400)
    return prefs


def save_preferences(prefs: Preferences, settings: QSettings | None = None) -> None:
    """Write every preference; tuples are stored as newline-joined text (portable in INI files)."""
    settings = settings or QSettings()
    for field in fields(Preferences):
        if field.name in NOT_STORED:
            continue
        value = getattr(prefs, field.name)
        if isinstance(value, tuple):
            value = "\n".join(value)
        settings.setValue(f"preferences/{field.name}", value)
    settings.sync()


def take_legacy_exclude_patterns(settings: QSettings | None = None) -> tuple[str, ...]:
    """The exclude list older versions kept in QSettings, removed from there (it moves into the
    library once); empty when there is none."""
    settings = settings or QSettings()
    raw = settings.value(LEGACY_EXCLUDE_KEY, None)
    if raw is None:
        return ()
    settings.remove(LEGACY_EXCLUDE_KEY)
    settings.sync()
    return _coerce(raw, ())  # type: ignore[return-value]


def library_directory(prefs: Preferences, override: str | Path | None = None) -> Path:
    """The library to open: the command line's ``--library``, else the preference, else the default."""
    from zssbir_core.paths import default_library_dir

    if override:
        return Path(override).expanduser()
    if prefs.library_dir:
        return Path(prefs.library_dir).expanduser()
    return default_library_dir()


class PreferencesStore(QObject):
    """The app's preferences: ``current`` to read them, ``update``/``set`` to change them. Every
    change is saved (what belongs to QSettings) and announced once by ``changed(old, new)``; each
    part of the app applies what concerns it there."""

    changed = Signal(object, object)  # old Preferences, new Preferences

    def __init__(self, prefs: Preferences, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._prefs = prefs
        self.settings = settings

    @property
    def current(self) -> Preferences:
        """The preferences in force."""
        return self._prefs

    def update(self, **changes: Any) -> bool:
        """Change some fields (``update(model=..., weights_file="")``); False when nothing changed."""
        return self.set(replace(self._prefs, **changes))

    def set(self, new: Preferences) -> bool:
        """Put ``new`` in force, save it and announce it; False (and nothing saved) when it is the same."""
        old = self._prefs
        if new == old:
            return False
        self._prefs = new
        save_preferences(new, self.settings)
        self.changed.emit(old, new)
        return True
