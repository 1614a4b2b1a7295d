"""``docs/architecture.md`` names only what exists: every ``Class.member`` it writes is a class of
the code with that member, every ``api.function`` is in the API, every ``.py`` path is a file."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DOC = REPO_ROOT / "docs" / "architecture.md"
SOURCES = [*sorted((REPO_ROOT / "zssbir_core").rglob("*.py")), *sorted((REPO_ROOT / "zssbir_desktop").rglob("*.py"))]


def defines(text: str, name: str) -> bool:
    return re.search(rf"^\s*(def|class)\s+{name}\b|^\s+{name}\s*[:=]|^{name}\s*[:=]", text, re.MULTILINE) is not None


def test_every_class_member_named_exists() -> None:
    texts = {path: path.read_text(encoding="utf-8") for path in SOURCES}
    missing = []
    for cls, member in sorted(set(re.findall(r"\b([A-Z][A-Za-z]+)\.([a-z_][a-z_0-9]*)\b", DOC.read_text(encoding="utf-8")))):
        homes = [text for text in texts.values() if re.search(rf"^class {cls}\b", text, re.MULTILINE)]
        if not homes or not any(defines(text, member) for text in homes):
            missing.append(f"{cls}.{member}")
    assert not missing, f"docs/architecture.md names what does not exist: {missing}"


def test_every_api_function_and_path_named_exists() -> None:
    doc = DOC.read_text(encoding="utf-8")
    api = (REPO_ROOT / "zssbir_core" / "api.py").read_text(encoding="utf-8")
    named = set(re.findall(r"\bapi\.([a-z_]+)\b(?!\.py)", doc)) - {"py"}
    missing = [f"api.{name}" for name in sorted(named) if not (defines(api, name) or f'"{name}"' in api)]
    files = {p.relative_to(REPO_ROOT).as_posix() for p in REPO_ROOT.rglob("*.py") if ".venv" not in p.parts}
    for path in sorted(set(re.findall(r"[\w/]+\.py\b", doc))):
        if not any(f == path or f.endswith("/" + path) for f in files):
            missing.append(path)
    assert not missing, f"docs/architecture.md names what does not exist: {missing}"
