"""``train --output``: a folder zssbir did not create is never written into, nothing of the user's
is ever deleted, and runs of an older zssbir (no marker) still resume when they can be recognised."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from tests.core.train_data import make_dataset
from zssbir_core.cli import main
from zssbir_core.errors import ZssbirError
from zssbir_core.training.callbacks import TrainingCallback
from zssbir_core.training.config import TrainConfig
from zssbir_core.training.events import Event, StepEvent
from zssbir_core.training.run_folder import MARKER_FILE, claim_run_folder, is_run_folder
from zssbir_core.training.trainer import Trainer

TINY = dict(image_size=64, embedding_dim=16, epochs=2, batches_per_epoch=2, classes_per_batch=3,
            samples_per_domain=1, warmup_steps=1, val_classes=0, seed=3)


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZSSBIR_DATA_DIR", str(tmp_path / "zssbir-data"))


def _snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry under ``root`` with its content (files), target (links) or kind (folders)."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = "link -> " + os.readlink(path)
        elif path.is_dir():
            found[key] = "dir"
        else:
            found[key] = path.read_bytes()
    return found


def _users_folder(root: Path) -> Path:
    """A folder of the user's that happens to use the names a run writes."""
    (root / "model").mkdir(parents=True)
    (root / "model" / "thesis.tex").write_text("years of work")
    (root / "resume").mkdir()
    (root / "resume" / "cv.pdf").write_bytes(b"%PDF-1.4 mine")
    (root / "config.json").write_text('{"editor": "vim"}')
    (root / "photo.jpg").write_bytes(b"\xff\xd8\xff not really")
    return root


@pytest.mark.parametrize("resume", [False, True])
def test_cli_refuses_a_users_folder_and_touches_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         resume: bool) -> None:
    data = make_dataset(tmp_path / "data", classes=3, photos=1, sketches=1)
    folder = _users_folder(tmp_path / "mine")
    before = _snapshot(folder)
    code = main(["train", "--data", str(data), "--output", str(folder), "--device", "cpu"]
                + (["--resume"] if resume else []))
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("zssbir-cli train: error:") and "did not create" in err
    assert len(err.strip().splitlines()) == 1
    assert _snapshot(folder) == before


@pytest.mark.parametrize("content", [
    "a plain file",
    "a folder with a hidden file",
    "a link to elsewhere",
    "a fake marker link",
    "a fake marker folder",
])
def test_trainer_refuses_any_non_empty_foreign_folder(tmp_path: Path, content: str) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text('{"format": "zssbir-training-run"}')
    if content == "a plain file":
        (folder / "notes.txt").write_text("mine")
    elif content == "a folder with a hidden file":
        (folder / ".git").mkdir()
        (folder / ".git" / "HEAD").write_text("ref: refs/heads/main")
    elif content == "a link to elsewhere":
        (folder / "config.json").symlink_to(elsewhere)
    elif content == "a fake marker link":
        (folder / MARKER_FILE).symlink_to(elsewhere)
    else:
        (folder / MARKER_FILE).mkdir()
    before = _snapshot(folder)
    data = make_dataset(tmp_path / "data", classes=3, photos=1, sketches=1)
    with pytest.raises(ZssbirError, match="zssbir"):
        Trainer(TrainConfig(**TINY), data, folder, device="cpu").run()
    assert _snapshot(folder) == before
    assert elsewhere.read_text() == '{"format": "zssbir-training-run"}'


def test_new_and_empty_folders_become_marked_run_folders(tmp_path: Path) -> None:
    claim_run_folder(tmp_path / "new" / "run", resume=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    claim_run_folder(empty, resume=False)
    for folder in (tmp_path / "new" / "run", empty):
        assert is_run_folder(folder)
        assert json.loads((folder / MARKER_FILE).read_text())["format"] == "zssbir-training-run"
    claim_run_folder(empty, resume=True)  # a marked folder stays claimable
    with pytest.raises(ZssbirError, match="not a folder"):
        (tmp_path / "file").write_text("x")
        claim_run_folder(tmp_path / "file", resume=False)


@pytest.mark.slow
def test_a_run_trains_into_an_empty_folder_and_an_older_run_still_resumes(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", classes=3)
    output = tmp_path / "run"
    output.mkdir()
    stop = threading.Event()

    class StopAfterFirstStep(TrainingCallback):
        def on_event(self, event: Event) -> None:
            if isinstance(event, StepEvent):
                stop.set()

    first = Trainer(TrainConfig(**TINY), data, output, device="cpu", callbacks=[StopAfterFirstStep()],
                    stop=stop).run()
    assert first.status == "interrupted" and is_run_folder(output)
    # The same run as an older zssbir left it: no marker.
    (output / MARKER_FILE).unlink()
    with pytest.raises(ZssbirError, match="older zssbir.*--resume"):
        Trainer(TrainConfig(**TINY), data, output, device="cpu").run()
    # An extra file of the user's makes it unrecognisable: refused even with --resume.
    (output / "notes.txt").write_text("mine")
    with pytest.raises(ZssbirError, match="did not create"):
        Trainer(TrainConfig(**TINY), data, output, device="cpu", resume=True).run()
    (output / "notes.txt").unlink()
    resumed = Trainer(TrainConfig(**TINY), data, output, device="cpu", resume=True).run()
    assert resumed.status == "completed" and resumed.steps == 4
    assert is_run_folder(output) and (output / "model" / "model.json").is_file()
