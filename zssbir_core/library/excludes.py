"""Exclude patterns: one list, owned by the library (its meta table), matched case-insensitively.

A pattern is a glob (``*``, ``?``, ``[...]``); letters match in any case. How it is matched:

- without ``/`` it matches the name of any file or folder (``*.tmp``, ``Screenshots``, ``*.JPG``);
  a matching folder is left out with everything inside it;
- with ``/`` it matches the path relative to the watched folder (``2019/drafts/*``); a leading
  ``*/`` also matches at the top (``*/Screenshots/*`` leaves out ``Screenshots/`` itself), and a
  trailing ``/*`` also matches the folder itself;
- an absolute path (``/home/me/Photos/private``, ``C:/Photos/private``) matches that file or
  folder, and everything inside it.

A folder holding a file named ``.nomedia`` is left out with everything inside it.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Iterable, Sequence

META_KEY = "exclude"
NOMEDIA = ".nomedia"
MAX_PATTERNS = 10_000
MAX_PATTERN_LENGTH = 4096


def normalise(patterns: Iterable[object]) -> list[str]:
    """Patterns as stored: strings, stripped, ``/``-separated, without blanks or duplicates."""
    seen: dict[str, None] = {}
    for pattern in patterns:
        if isinstance(pattern, str):
            text = pattern.strip().replace("\\", "/")
            while text.startswith("./"):
                text = text[2:]
            if text and len(text) <= MAX_PATTERN_LENGTH:
                seen.setdefault(text, None)
    return list(seen)[:MAX_PATTERNS]


def parse(text: str | None) -> list[str]:
    """The stored list from its JSON text; anything malformed reads as no pattern."""
    try:
        value = json.loads(text or "[]")
    except (ValueError, RecursionError):
        return []
    return normalise(value) if isinstance(value, list) else []


def dump(patterns: Iterable[object]) -> str:
    """The JSON text the library stores for ``patterns``."""
    return json.dumps(normalise(patterns))


def _is_absolute(pattern: str) -> bool:
    return pattern.startswith("/") or re.match(r"[A-Za-z]:/", pattern) is not None


class ExcludeRules:
    """Compiled patterns; ``excludes(name, relative, absolute)`` says whether to leave a file or
    folder out (``relative`` to the watched folder, ``absolute``; both ``/``-separated)."""

    def __init__(self, patterns: Sequence[str]) -> None:
        names, relatives, absolutes = [], [], []
        for pattern in normalise(patterns):
            folded = pattern.casefold()
            if _is_absolute(folded):
                absolutes.append(folded.rstrip("/") or "/")
            elif "/" not in folded.strip("/"):
                names.append(folded.strip("/"))
            else:
                relatives.append(folded.strip("/"))
                if folded.startswith("*/"):
                    relatives.append(folded[2:])
        relatives += [pattern[:-2] for pattern in relatives if pattern.endswith("/*")]
        self._names = [re.compile(fnmatch.translate(p)) for p in names]
        self._relatives = [re.compile(fnmatch.translate(p)) for p in relatives]
        self._absolutes = absolutes
        self._absolute_globs = [re.compile(fnmatch.translate(p)) for p in absolutes]

    def excludes(self, name: str, relative: str, absolute: str) -> bool:
        name, relative, absolute = name.casefold(), relative.casefold(), absolute.casefold()
        if any(p.match(name) for p in self._names) or any(p.match(relative) for p in self._relatives):
            return True
        for prefix, glob in zip(self._absolutes, self._absolute_globs):
            if absolute == prefix or absolute.startswith(prefix.rstrip("/") + "/") or glob.match(absolute):
                return True
        return False


def has_nomedia(folder: str) -> bool:
    """Whether ``folder`` holds a ``.nomedia`` (or ``.NOMEDIA``) marker file."""
    return any(os.path.isfile(os.path.join(folder, name)) for name in (NOMEDIA, NOMEDIA.upper()))
