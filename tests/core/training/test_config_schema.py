"""Issue 21 item 11: one schema for the training settings, whichever way they come in: every
field bounded, non-finite numbers refused, and the same limits for recipes, ``--config`` JSON,
command-line flags and a resumed run's ``config.json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zssbir_core.cli import main
from zssbir_core.training.config import ConfigError, TrainConfig, load_config_file, load_recipe, recipe_names
from zssbir_core.training.config_schema import FIELDS


def _from_json(tmp_path: Path, text: str) -> TrainConfig:
    path = tmp_path / "config.json"
    path.write_text(text)
    return load_config_file(load_recipe("quick"), path)


@pytest.mark.parametrize("text, field", [
    ('{"embedding_dim": 5000}', "embedding_dim"),  # trained, then could not be loaded
    ('{"num_workers": -1}', "num_workers"),
    ('{"image_size": 100000}', "image_size"),
    ('{"lr": Infinity}', "Infinity"),
    ('{"lr": NaN}', "NaN"),
    ('{"lr": -Infinity}', "Infinity"),
    ('{"lr": 1e30}', "lr"),
    ('{"lr": 1e400}', "lr"),  # JSON's overflow to inf
    ('{"epochs": true}', "epochs"),
    ('{"epochs": 2.5}', "epochs"),
    ('{"seed": -1}', "seed"),
    ('{"classes_per_batch": 1000000000}', "classes_per_batch"),
    ('{"temperature": 0}', "temperature"),
    ('{"grad_clip": -1}', "grad_clip"),
    ('{"label_smoothing": 1.5}', "label_smoothing"),
    ('{"val_classes": -3}', "val_classes"),
    ('{"val_classes": [1, 2]}', "val_classes"),
    ('{"channels_last": "yes"}', "channels_last"),
    ('{"backbone": "vgg"}', "backbone"),
    ('{"description": ' + json.dumps("x" * 20_000) + '}', "description"),
    ('{"classes_per_batch": 1024, "samples_per_domain": 2, "image_size": 1024}', "batch"),
    ('{"classes_per_batch": 64, "samples_per_domain": 2, "image_size": 512, "num_workers": 16}', "GB of batches"),
    ('[' * 100_000 + ']' * 100_000, "JSON"),
])
def test_a_hostile_config_file_is_refused_naming_the_field(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        _from_json(tmp_path, text)


def test_every_field_has_a_rule_and_every_recipe_passes() -> None:
    from zssbir_core.models import model_json, preprocessing
    from zssbir_core.training import config_schema

    assert set(FIELDS) == set(TrainConfig().to_dict())
    assert config_schema.MAX_EMBEDDING_DIM == model_json.MAX_EMBEDDING_DIM, "a trained model must load again"
    assert (config_schema.MIN_IMAGE_SIZE, config_schema.MAX_IMAGE_SIZE) == (
        preprocessing.MIN_IMAGE_SIZE, preprocessing.MAX_IMAGE_SIZE)
    for name in recipe_names():
        load_recipe(name).validate()


def test_a_fifo_as_config_file_is_refused_without_blocking(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "config.json")
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config_file(TrainConfig(), tmp_path / "config.json")


@pytest.mark.parametrize("flags", [
    ["--image-size", "100000"], ["--epochs", "0"], ["--seed", "-1"],
    pytest.param(["--batch-size", "4096", "--image-size", "1024"], marks=pytest.mark.slow),  # imports torch first
])
def test_flags_meet_the_same_limits(tmp_path: Path, flags: list[str], capsys) -> None:
    """``--batch-size 4096 --image-size 1024`` asked for ~50 GB a batch (and ~100 GB prefetched)."""
    (tmp_path / "data" / "a").mkdir(parents=True)
    try:
        code = main(["train", "--data", str(tmp_path / "data"), "--output", str(tmp_path / "run"), "--recipe", "quick",
                     *flags])
    except SystemExit as exit_:  # argparse refuses a flag out of its range
        code = exit_.code
    assert code != 0
    assert "error" in capsys.readouterr().err
    assert not (tmp_path / "run").exists(), "nothing was written"


def test_a_resumed_runs_config_is_checked_too(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / ".zssbir-run").write_text('{"format": "zssbir-training-run"}')
    (run / "config.json").write_text(json.dumps({"data": str(tmp_path), "config": {"lr": 1e30}}))
    assert main(["train", "--output", str(run), "--resume"]) != 0
    assert "lr" in capsys.readouterr().err
