"""``zssbir-cli train`` end to end on tiny real image folders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import sigint_as_at_a_terminal
from tests.core.train_data import make_dataset
from zssbir_core.cli import main
from zssbir_core.models import load_model
from zssbir_core.training.config import load_recipe

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZSSBIR_DATA_DIR", str(tmp_path / "zssbir-data"))


def _tiny_config(tmp_path: Path, **changes: object) -> Path:
    # "init": None: from ImageNet weights, so that the tiny embedding size applies (a recipe's
    # default model would bring its own 512-d head).
    settings = {"init": None, "image_size": 64, "embedding_dim": 32, "batches_per_epoch": 2, "classes_per_batch": 3,
                "samples_per_domain": 1, "warmup_steps": 1, "val_sketches_per_class": 2, **changes}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(settings))
    return path


@pytest.mark.slow
def test_train_smoke_with_json_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = make_dataset(tmp_path / "data", classes=4)
    output = tmp_path / "run"
    code = main(["train", "--data", str(data), "--output", str(output), "--recipe", "quick",
                 "--config", str(_tiny_config(tmp_path)), "--epochs", "2", "--val-classes", "cross",
                 "--device", "cpu", "--seed", "1", "--progress", "json"])
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "end" and "start" in kinds
    start = next(e for e in events if e["event"] == "start")
    assert start["total_steps"] == 4 and start["val_classes"] == ["cross"] and start["device"] == "cpu"
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3, 4]
    assert set(steps[0]["losses"]) == {"total", "quadruplet", "semantic", "knowledge"}
    assert all(e["eta_s"] >= 0 and e["epoch"] in (1, 2) for e in steps)
    assert steps[-1]["metric"] is not None
    end = events[-1]
    assert end["status"] == "completed" and end["checkpoint"] == str(output / "model")
    assert 0 <= end["best_metrics"]["map_all"] <= 1
    assert load_model(output / "model").embedding_dim == 32

    # The run is finished: training into the same folder again is refused unless resuming.
    code = main(["train", "--data", str(data), "--output", str(output), "--device", "cpu"])
    assert code == 2
    assert "--resume" in capsys.readouterr().err


@pytest.mark.parametrize("make", ["missing", "empty", "file"])
def test_bad_data_folder_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], make: str) -> None:
    data = tmp_path / "data"
    if make == "empty":
        data.mkdir()
    elif make == "file":
        data.write_text("not a folder")
    code = main(["train", "--data", str(data), "--output", str(tmp_path / "run"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("zssbir-cli train: error:") and str(data) in err
    assert len(err.strip().splitlines()) == 1


def test_bad_recipe_and_config_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = make_dataset(tmp_path / "data", classes=3, photos=1, sketches=1)
    assert main(["train", "--data", str(data), "--output", str(tmp_path / "a"), "--recipe", "nope"]) == 2
    assert "unknown recipe 'nope'" in capsys.readouterr().err
    config = _tiny_config(tmp_path, margin=1)
    assert main(["train", "--data", str(data), "--output", str(tmp_path / "b"), "--config", str(config)]) == 2
    assert "margin" in capsys.readouterr().err


def test_unknown_init_model_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = make_dataset(tmp_path / "data", classes=3, photos=1, sketches=1)
    missing = tmp_path / "no-such-model"
    assert main(["train", "--data", str(data), "--output", str(tmp_path / "run"), "--init", str(missing),
                 "--config", str(_tiny_config(tmp_path)), "--device", "cpu"]) == 2
    assert "no-such-model" in capsys.readouterr().err


def test_a_starting_checkpoint_brings_its_network_and_input_size_unless_asked_otherwise(tmp_path: Path) -> None:
    from zssbir_core.cli import build_parser
    from zssbir_core.cli.train_cmd import _resolve_config

    def resolved(*extra: str) -> tuple[str, int]:
        args = build_parser().parse_args(["train", "--data", str(tmp_path), "--output", str(tmp_path / "run"),
                                          "--recipe", "quick", *extra])
        config = _resolve_config(args)[0]
        return config.backbone, config.image_size

    recipe = load_recipe("quick")
    assert resolved() == (recipe.backbone, recipe.image_size)
    # the first default model: EfficientNet-Lite1 at 160 px, whatever the recipe says
    assert resolved("--init", "sketch-lite1-v1") == ("efficientnet_lite1", 160)
    assert resolved("--init", "sketch-lite1-v1", "--image-size", "192") == ("efficientnet_lite1", 192)
    config = tmp_path / "size.json"
    config.write_text(json.dumps({"image_size": recipe.image_size}))  # the recipe's size, chosen on purpose
    assert resolved("--init", "sketch-lite1-v1", "--config", str(config)) == ("efficientnet_lite1", recipe.image_size)


@pytest.mark.slow
@pytest.mark.subprocess
def test_sigint_stops_cleanly_and_resume_finishes(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", classes=3)
    output = tmp_path / "run"
    command = [sys.executable, "-m", "zssbir_core", "train", "--data", str(data), "--output", str(output),
               "--config", str(_tiny_config(tmp_path, val_classes=0, batches_per_epoch=6)),
               "--epochs", "2", "--device", "cpu", "--progress", "json"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               preexec_fn=sigint_as_at_a_terminal)
    for line in process.stdout:
        if json.loads(line)["event"] == "step":
            process.send_signal(signal.SIGINT)
            break
    rest, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    end = json.loads(rest.splitlines()[-1])
    assert end["event"] == "end" and end["status"] == "interrupted"
    assert 1 <= end["steps"] < 12
    assert (output / "resume" / "state.pt").is_file()
    assert "--resume" in err

    resumed = subprocess.run(
        [sys.executable, "-m", "zssbir_core", "train", "--output", str(output), "--resume",
         "--device", "cpu", "--progress", "json"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    events = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert events[0]["event"] == "start" and events[0]["resumed_from_step"] == end["steps"]
    assert events[-1]["status"] == "completed" and events[-1]["steps"] == 12
    assert not (output / "resume").exists()


@pytest.mark.slow
@pytest.mark.subprocess
def test_torchrun_two_cpu_processes(tmp_path: Path) -> None:
    """DistributedDataParallel over gloo: two processes, each with its share of the batches."""
    data = make_dataset(tmp_path / "data", classes=3)
    output = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    # torchrun in a session of its own, so that a timeout stops its two workers too, not only torchrun
    torchrun = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "zssbir_core",
         "train", "--data", str(data), "--output", str(output), "--config",
         str(_tiny_config(tmp_path, val_classes=0)), "--epochs", "1", "--device", "cpu", "--progress", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
    )
    try:
        stdout, stderr = torchrun.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(torchrun.pid, signal.SIGKILL)
        torchrun.communicate()
        raise
    assert torchrun.returncode == 0, stderr
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    starts = [e for e in events if e["event"] == "start"]
    assert len(starts) == 1 and starts[0]["world_size"] == 2  # only rank 0 reports
    assert events[-1]["status"] == "completed" and events[-1]["steps"] == 2
    assert load_model(output / "model").embedding_dim == 32
