"""Every write through ``zssbir_core.atomic`` (and every record of a run folder) refuses a link at
the target: a link planted in a folder zssbir writes must never redirect a write onto a user's file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zssbir_core.atomic import append_text, atomic_write, replace_directory, write_bytes_atomic, write_text_atomic
from zssbir_core.errors import LinkTargetError, ZssbirError
from zssbir_core.training import run_folder
from zssbir_core.training.events import EndEvent, ValidationEvent


@pytest.fixture()
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_text("the user's file\n")
    return path


def _link(at: Path, to: Path) -> Path:
    at.symlink_to(os.path.relpath(to, at.parent))
    return at


@pytest.mark.parametrize("write", [
    lambda p: write_text_atomic(p, "new"),
    lambda p: write_bytes_atomic(p, b"new", durable=False),
    lambda p: atomic_write(p).__enter__(),
    lambda p: append_text(p, "new\n"),
])
def test_a_write_refuses_a_link_at_its_target(tmp_path: Path, victim: Path, write) -> None:
    target = _link(tmp_path / "record.json", victim)
    with pytest.raises(LinkTargetError, match="link"):
        write(target)
    assert victim.read_text() == "the user's file\n"
    assert target.is_symlink(), "the link is left as it is"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == [], "no temporary file is left"


def test_a_dangling_link_is_refused_too(tmp_path: Path) -> None:
    target = _link(tmp_path / "record.json", tmp_path / "nowhere" / "x")
    with pytest.raises(LinkTargetError):
        write_text_atomic(target, "new")
    with pytest.raises(LinkTargetError):
        append_text(target, "new")
    assert not (tmp_path / "nowhere").exists()


def test_replace_directory_refuses_a_link_at_its_target(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "photo.jpg").write_bytes(b"jpeg")
    target = _link(tmp_path / "model", kept)
    source = tmp_path / ".model-new"
    source.mkdir()
    with pytest.raises(LinkTargetError):
        replace_directory(source, target)
    assert (kept / "photo.jpg").read_bytes() == b"jpeg" and target.is_symlink() and source.is_dir()


def test_plain_files_are_still_written_and_appended(tmp_path: Path) -> None:
    write_text_atomic(tmp_path / "a.json", "one")
    write_text_atomic(tmp_path / "a.json", "two")
    append_text(tmp_path / "h.jsonl", "1\n")
    append_text(tmp_path / "h.jsonl", "2\n")
    assert (tmp_path / "a.json").read_text() == "two" and (tmp_path / "h.jsonl").read_text() == "1\n2\n"


def _interrupted_run(tmp_path: Path) -> Path:
    output = tmp_path / "r"
    run_folder.claim_run_folder(output, resume=False)
    run_folder.write_config(output, tmp_path, {"epochs": 1})
    return output


@pytest.mark.parametrize("name", [run_folder.SUMMARY_FILE, run_folder.CONFIG_FILE, run_folder.HISTORY_FILE])
def test_run_folder_records_never_write_through_a_planted_link(tmp_path: Path, victim: Path, name: str) -> None:
    """The reproduction of issue 21 item 1: ``ln -s ../victim.txt r/summary.json`` then a resumed run."""
    output = _interrupted_run(tmp_path)
    (output / name).unlink(missing_ok=True)
    _link(output / name, victim)
    end = EndEvent(status="completed", checkpoint=None, best_metrics={}, best_epoch=None, steps=1, wall_s=1.0,
                   train_s=1.0)
    writes = {
        run_folder.SUMMARY_FILE: lambda: run_folder.write_summary(output, end),
        run_folder.CONFIG_FILE: lambda: run_folder.write_config(output, tmp_path, {"epochs": 2}),
        run_folder.HISTORY_FILE: lambda: run_folder.append_history(output, _validation()),
    }
    with pytest.raises(ZssbirError, match="link"):
        writes[name]()
    assert victim.read_text() == "the user's file\n"


def _validation() -> ValidationEvent:
    return ValidationEvent(epoch=1, step=1, metrics={"map": 0.5}, best=True)
