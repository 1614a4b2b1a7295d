"""Which folders a training run may write into: its own, never one of the user's.

A run writes ``config.json`` and replaces or deletes ``model/`` and ``resume/`` inside its
output folder, so the trainer claims that folder first (``claim_run_folder``): a folder that does
not exist yet, or an empty one, becomes a run folder, marked by a small ``.zssbir-run`` file
written before anything else; a marked folder is a run folder. Any other folder is refused,
with one exception for ``--resume``: a run folder made before the marker existed, recognised only
when every entry in it is one the trainer writes, each of the expected kind (plain files, the
two checkpoint folders holding only their own files) and ``config.json`` is the trainer's record.

The records a run keeps there: ``config.json`` (``write_config``), ``history.jsonl`` (one
validation event a line, ``append_history``) and ``summary.json`` (``write_summary``, read back by
``read_summary`` when a finished run is resumed). They are written through ``zssbir_core.atomic``,
which refuses a link planted in their place (``LinkTargetError``) instead of writing through it.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import stat
from pathlib import Path
from typing import Any

from zssbir_core import __version__
from zssbir_core.atomic import append_text, write_text_atomic
from zssbir_core.errors import ZssbirError
from zssbir_core.training.events import EndEvent, EventFormatError, ValidationEvent

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.jsonl"
SUMMARY_FILE = "summary.json"
MARKER_FILE = ".zssbir-run"
MARKER_FORMAT = "zssbir-training-run"
_MAX_MARKER_BYTES = 4096
_MAX_RECORD_BYTES = 1 << 20
# What a run folder of an older zssbir can hold: name -> the files allowed inside (None: a file).
_LEGACY_ENTRIES: dict[str, frozenset[str] | None] = {
    "config.json": None,
    "history.jsonl": None,
    "summary.json": None,
    "model": frozenset({"model.json", "model.safetensors"}),
    "resume": frozenset({"weights.safetensors", "state.pt"}),
}
# Hidden folders the trainer leaves only if it is killed while saving.
_LEGACY_TEMPORARY_PREFIXES = (".model-", ".resume-")


def is_run_folder(output: Path) -> bool:
    """True when ``output`` holds a valid marker file (a plain file, not a link)."""
    marker = output / MARKER_FILE
    try:
        if not stat.S_ISREG(os.lstat(marker).st_mode) or marker.stat().st_size > _MAX_MARKER_BYTES:
            return False
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(record, dict) and record.get("format") == MARKER_FORMAT


def claim_run_folder(output: Path, *, resume: bool) -> None:
    """Make ``output`` this run's folder, or raise ``ZssbirError`` saying why it cannot be.

    Creates and marks a new or empty folder; accepts a marked one; with ``resume`` adopts (marks)
    a recognisable run folder of an older zssbir. Nothing else is ever written.
    """
    if output.exists() and not output.is_dir():
        raise ZssbirError(f"--output {output} exists and is not a folder")
    if not output.exists():
        try:
            output.mkdir(parents=True)
        except OSError as error:
            raise ZssbirError(f"cannot create --output {output}: {error.strerror or error}") from error
        _write_marker(output)
        return
    if is_run_folder(output):
        return
    try:
        entries = list(os.scandir(output))
    except OSError as error:
        raise ZssbirError(f"cannot read --output {output}: {error.strerror or error}") from error
    if not entries:
        _write_marker(output)
        return
    if _is_legacy_run(output, entries):
        if not resume:
            raise ZssbirError(
                f"{output} holds a training run of an older zssbir; pass --resume to continue it, "
                "or choose another --output"
            )
        _write_marker(output)
        return
    raise ZssbirError(
        f"--output {output} is a folder that zssbir did not create and it is not empty; zssbir writes "
        "only into new or empty folders (and its own run folders): choose another --output"
    )


def _write_marker(output: Path) -> None:
    record = {"format": MARKER_FORMAT, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
              "version": __version__}
    try:
        with open(output / MARKER_FILE, "x", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
    except FileExistsError as error:  # a marker that is not valid (a link, a directory, garbage)
        raise ZssbirError(f"{output / MARKER_FILE} is not a zssbir run marker; choose another --output") from error
    except OSError as error:
        raise ZssbirError(f"cannot write into --output {output}: {error.strerror or error}") from error


def _is_legacy_run(output: Path, entries: list[os.DirEntry[str]]) -> bool:
    names = set()
    for entry in entries:
        if entry.name.startswith(_LEGACY_TEMPORARY_PREFIXES) and entry.is_dir(follow_symlinks=False):
            continue
        if entry.name not in _LEGACY_ENTRIES or entry.is_symlink():
            return False
        inside = _LEGACY_ENTRIES[entry.name]
        if inside is None:
            if not entry.is_file(follow_symlinks=False):
                return False
        elif not entry.is_dir(follow_symlinks=False) or not _holds_only(Path(entry.path), inside):
            return False
        names.add(entry.name)
    return "config.json" in names and _is_trainer_record(output / "config.json")


def _holds_only(folder: Path, allowed: frozenset[str]) -> bool:
    try:
        return all(e.name in allowed and e.is_file(follow_symlinks=False) for e in os.scandir(folder))
    except OSError:
        return False


def _is_trainer_record(path: Path) -> bool:
    try:
        if path.stat().st_size > _MAX_RECORD_BYTES:
            return False
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(record, dict) and set(record) == {"data", "config"} \
        and isinstance(record["data"], str) and isinstance(record["config"], dict)


def write_config(output: Path, data_root: Path, config: dict[str, Any]) -> None:
    """``config.json``: the data folder and the resolved settings (what ``--resume`` reads)."""
    record = {"data": str(data_root.resolve()), "config": config}
    write_text_atomic(output / CONFIG_FILE, json.dumps(record, indent=2) + "\n")


def append_history(output: Path, event: ValidationEvent) -> None:
    """Add one validation to ``history.jsonl``."""
    append_text(output / HISTORY_FILE, event.to_json(compact=False) + "\n")


def write_summary(output: Path, end: EndEvent) -> None:
    """``summary.json``: how the completed run ended."""
    write_text_atomic(output / SUMMARY_FILE, json.dumps(end.summary(), indent=2) + "\n")


def read_summary(output: Path) -> EndEvent:
    """The end of the completed run in ``output``; ``ZssbirError`` when its summary cannot be read."""
    try:
        record = json.loads((output / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise ZssbirError(f"cannot read {output / SUMMARY_FILE}: {error}") from error
    try:
        return EndEvent.from_fields(record)
    except EventFormatError as error:
        raise ZssbirError(f"{output / SUMMARY_FILE} is not a training summary ({error})") from error
