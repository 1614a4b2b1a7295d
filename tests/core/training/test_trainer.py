"""The trainer on tiny real image folders: reproducibility, checkpoints, resume, ResNet50, photos only."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from tests.core.train_data import make_dataset
from zssbir_core.errors import DatasetError, ModelLoadError, ZssbirError
from zssbir_core.models import load_checkpoint, load_model
from zssbir_core.training import state
from zssbir_core.training.callbacks import TrainingCallback
from zssbir_core.training.config import ConfigError, TrainConfig, load_config_file, load_recipe, recipe_names
from zssbir_core.training.events import Event, StepEvent
from zssbir_core.training.setup import split_validation_classes
from zssbir_core.training.trainer import Trainer

TINY = dict(
    image_size=64, embedding_dim=32, epochs=2, batches_per_epoch=2, classes_per_batch=3, samples_per_domain=1,
    warmup_steps=1, val_classes=0, seed=3,
)


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZSSBIR_DATA_DIR", str(tmp_path / "zssbir-data"))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "data", classes=3)


class Recorder(TrainingCallback):
    """Keeps every event; sets ``stop`` after ``stop_after`` steps when asked to."""

    def __init__(self, stop: threading.Event | None = None, stop_after: int | None = None) -> None:
        self.events: list[dict] = []
        self.stop = stop
        self.stop_after = stop_after

    def on_event(self, event: Event) -> None:
        self.events.append(event.to_dict())
        if isinstance(event, StepEvent) and self.stop is not None and event.step == self.stop_after:
            self.stop.set()


def _weights(output: Path, folder: str = "model") -> dict[str, torch.Tensor]:
    return load_file(str(output / folder / "model.safetensors"))


@pytest.mark.slow
def test_checkpoint_round_trip_with_validation(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", classes=5)
    config = TrainConfig(**{**TINY, "val_classes": ["bar", "cross"], "val_sketches_per_class": 2,
                            "exclude_classes": ["triangle"]})
    recorder = Recorder()
    result = Trainer(config, data, tmp_path / "run", device="cpu", callbacks=[recorder]).run()
    assert result.status == "completed"
    net, info = load_checkpoint(result.checkpoint)
    assert info.classes == ["circle", "square"]
    assert info.preprocessing.image_size == 64
    assert info.embedding_dim == 32
    assert info.training["val_classes"] == ["bar", "cross"]
    assert info.training["config"]["lq"] == 1.0
    assert 0.0 < info.metrics["val_map_all"] <= 1.0
    validations = [e for e in recorder.events if e["event"] == "validation"]
    assert [e["epoch"] for e in validations] == [1, 2]
    best = max(validations, key=lambda e: e["metrics"]["map_all"])
    assert info.metrics["val_map_all"] == pytest.approx(best["metrics"]["map_all"])
    embedder = load_model(result.checkpoint)
    assert embedder.embedding_dim == 32 and embedder.model_id == info.model_id
    # exported to ONNX at the end, checked against torch: it runs in the default install, without torch
    assert (result.checkpoint / "model.onnx").is_file() and "onnxruntime" in embedder.runtime
    images = [Image.effect_noise((90, 70), 50).convert("RGB"), Image.new("RGB", (64, 64), "white")]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZSSBIR_RUNTIME", "torch")
        in_torch = load_model(result.checkpoint).embed_images(images)
    assert (embedder.embed_images(images) * in_torch).sum(1).min() > 1 - 1e-4
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 4
    assert not (tmp_path / "run" / "resume").exists()


@pytest.mark.slow
def test_same_seed_is_reproducible_and_resume_matches_an_uninterrupted_run(data: Path, tmp_path: Path) -> None:
    config = TrainConfig(**{**TINY, "epochs": 2, "batches_per_epoch": 3})
    Trainer(config, data, tmp_path / "straight", device="cpu").run()
    Trainer(config, data, tmp_path / "again", device="cpu").run()
    expected, again = _weights(tmp_path / "straight"), _weights(tmp_path / "again")
    assert expected.keys() == again.keys()
    assert all(torch.equal(expected[k], again[k]) for k in expected)

    stop = threading.Event()
    first = Trainer(config, data, tmp_path / "cut", device="cpu", callbacks=[Recorder(stop, 2)], stop=stop)
    result = first.run()
    assert result.status == "interrupted" and result.steps == 2
    assert state.has_resume_state(tmp_path / "cut")
    assert not (tmp_path / "cut" / "summary.json").exists()

    recorder = Recorder()
    resumed = Trainer(config, data, tmp_path / "cut", device="cpu", callbacks=[recorder], resume=True).run()
    assert resumed.status == "completed" and resumed.steps == 6
    assert recorder.events[0]["resumed_from_step"] == 2
    assert [e["step"] for e in recorder.events if e["event"] == "step"] == [3, 4, 5, 6]
    got = _weights(tmp_path / "cut")
    assert all(torch.equal(expected[k], got[k]) for k in expected)


@pytest.mark.slow
def test_existing_run_is_not_overwritten_without_resume(data: Path, tmp_path: Path) -> None:
    stop = threading.Event()
    Trainer(TrainConfig(**TINY), data, tmp_path / "run", device="cpu", callbacks=[Recorder(stop, 1)], stop=stop).run()
    with pytest.raises(ZssbirError, match="--resume"):
        Trainer(TrainConfig(**TINY), data, tmp_path / "run", device="cpu").run()


@pytest.mark.slow
def test_resnet50_trains_from_a_local_weights_file(data: Path, tmp_path: Path) -> None:
    import torchvision

    weights = tmp_path / "resnet50.pth"
    torch.save(torchvision.models.resnet50(weights=None).state_dict(), weights)
    config = TrainConfig(**{**TINY, "backbone": "resnet50", "weights": str(weights), "epochs": 1,
                            "batches_per_epoch": 1, "classes_per_batch": 2})
    result = Trainer(config, data, tmp_path / "run", device="cpu").run()
    net, info = load_checkpoint(result.checkpoint)
    assert info.backbone == "resnet50" and net.num_classes == 3


@pytest.mark.slow
def test_init_from_a_checkpoint_continues_its_weights(data: Path, tmp_path: Path) -> None:
    first = Trainer(TrainConfig(**TINY), data, tmp_path / "first", device="cpu").run()
    config = TrainConfig(**{**TINY, "init": str(first.checkpoint), "lr": 1e-12, "epochs": 1,
                            "batches_per_epoch": 1})
    Trainer(config, data, tmp_path / "second", device="cpu").run()
    before, after = _weights(tmp_path / "first"), _weights(tmp_path / "second")
    conv = next(k for k in before if k.endswith("_conv_stem.weight"))
    assert torch.allclose(before[conv], after[conv], atol=1e-6)
    with pytest.raises(ModelLoadError, match="resnet50"):
        Trainer(TrainConfig(**{**TINY, "init": "resnet50-imagenet"}), data, tmp_path / "bad", device="cpu").run()


@pytest.mark.slow
def test_photos_only_folder_trains_on_drawn_sketches(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "photos", classes=3, with_sketches=False)
    config = TrainConfig(**{**TINY, "epochs": 1})
    result = Trainer(config, data, tmp_path / "run", device="cpu").run()
    assert result.status == "completed" and result.steps == 2


@pytest.mark.slow
def test_time_budget_ends_the_run_early(data: Path, tmp_path: Path) -> None:
    config = TrainConfig(**{**TINY, "epochs": 50, "batches_per_epoch": 10, "time_budget_min": 1e-6})
    result = Trainer(config, data, tmp_path / "run", device="cpu").run()
    assert result.status == "completed" and result.steps < 500
    assert (tmp_path / "run" / "model" / "model.json").is_file()


def test_unknown_excluded_class_is_refused(data: Path, tmp_path: Path) -> None:
    config = TrainConfig(**{**TINY, "exclude_classes": ["hexagon"]})
    with pytest.raises(DatasetError, match="hexagon"):
        Trainer(config, data, tmp_path / "run", device="cpu").run()
    assert not (tmp_path / "run").exists()


def test_validation_class_split() -> None:
    classes = [f"c{i}" for i in range(10)]
    picked = split_validation_classes(classes, 3, seed=1)
    assert len(picked) == 3 and picked == split_validation_classes(classes, 3, seed=1)
    assert split_validation_classes(classes, ["c2", "c1"], seed=0) == ["c1", "c2"]
    assert split_validation_classes(classes, 0, seed=0) == []
    with pytest.raises(DatasetError, match="not in the data"):
        split_validation_classes(classes, ["nope"], seed=0)
    with pytest.raises(DatasetError, match="at least 2"):
        split_validation_classes(classes, 9, seed=0)


def test_recipes_load_and_bad_settings_are_refused(tmp_path: Path) -> None:
    assert {"quick", "standard", "thorough", "cpu-lite0", "paper-resnet50"} <= set(recipe_names())
    for name in recipe_names():
        assert load_recipe(name).description
    assert load_recipe("paper-resnet50").backbone == "resnet50"
    with pytest.raises(ConfigError, match="unknown recipe"):
        load_recipe("fastest")
    bad = tmp_path / "bad.json"
    bad.write_text('{"lerning_rate": 0.1}')
    with pytest.raises(ConfigError, match="lerning_rate"):
        load_config_file(TrainConfig(), bad)
    bad.write_text('{"lq": 0, "lc": 0, "lk": 0}')
    with pytest.raises(ConfigError, match="at least one"):
        load_config_file(TrainConfig(), bad)
    bad.write_text("[1, 2")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config_file(TrainConfig(), bad)


@pytest.mark.slow
def test_drawn_sketches_join_real_ones_at_the_asked_fraction(tmp_path: Path) -> None:
    """pseudo_sketch_fraction: drawings of the photos beside the real sketches, and a run with them."""
    from zssbir_core.data.folder import scan_folder_dataset
    from zssbir_core.data.pseudo_sketch import with_drawn_sketches

    data = make_dataset(tmp_path / "data", classes=3)
    dataset = scan_folder_dataset(data)
    mixed, drawn = with_drawn_sketches(dataset, 0.25)
    photo_paths = {s.path for s in dataset.photos()}
    assert drawn and drawn <= photo_paths
    for label in range(len(dataset.classes)):
        real = sum(1 for s in dataset.sketches() if s.label == label)
        added = sum(1 for s in mixed.sketches() if s.label == label and s.path in drawn)
        assert added == round(0.25 * real / 0.75)
    with pytest.raises(ValueError):
        with_drawn_sketches(dataset, 1.0)

    config = TrainConfig(**{**TINY, "pseudo_sketch_fraction": 0.5})
    result = Trainer(config, data, tmp_path / "run", device="cpu").run()
    assert result.status == "completed" and result.steps == 4
    with pytest.raises(ConfigError, match="pseudo_sketch_fraction"):
        TrainConfig(pseudo_sketch_fraction=1.5)


@pytest.mark.slow
def test_a_loss_that_is_not_finite_stops_the_run_as_failed(data: Path, tmp_path: Path) -> None:
    """Issue 21 item 11: ``lr: 1e30`` gave a NaN loss and the run still "completed". Here the resume
    state of an interrupted run is damaged into NaN weights (a real file on disk): the first step's
    loss is NaN and the run must stop as failed, with no summary and no "completed" event."""
    from safetensors.torch import save_file

    config = TrainConfig(**{**TINY, "epochs": 2, "batches_per_epoch": 2})
    stop = threading.Event()
    Trainer(config, data, tmp_path / "run", device="cpu", callbacks=[Recorder(stop, 1)], stop=stop).run()
    weights_file = tmp_path / "run" / "resume" / "weights.safetensors"
    weights = {k: (torch.full_like(v, float("nan")) if v.is_floating_point() else v)
               for k, v in load_file(str(weights_file)).items()}
    save_file(weights, str(weights_file))
    recorder = Recorder()
    with pytest.raises(ZssbirError, match="not a finite number"):
        Trainer(config, data, tmp_path / "run", device="cpu", callbacks=[recorder], resume=True).run()
    assert not (tmp_path / "run" / "summary.json").exists()
    assert all(event["event"] != "end" for event in recorder.events)


@pytest.mark.slow
def test_a_run_with_doodles_and_sketch_styles(tmp_path: Path) -> None:
    """doodles + sketch_style_p: Quick, Draw! strokes of a training class join its sketches, drawn
    afresh for each batch; a doodles folder without strokes is refused before training."""
    from tests.core.data.test_doodles import CROSS, SQUARE, write_doodles

    data = make_dataset(tmp_path / "data", classes=3)
    write_doodles(tmp_path / "qd", "square", {"1": SQUARE, "2": CROSS})
    config = TrainConfig(**{**TINY, "doodles": str(tmp_path / "qd"), "sketch_style_p": 0.5})
    result = Trainer(config, data, tmp_path / "run", device="cpu").run()
    assert result.status == "completed" and result.steps == 4
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no strokes"):
        Trainer(config.updated({"doodles": str(tmp_path / "empty")}), data, tmp_path / "run2", device="cpu").run()
    with pytest.raises(ConfigError, match="sketch_style_p"):
        TrainConfig(sketch_style_p=1.5)


@pytest.mark.slow
def test_a_fine_tuning_saves_its_average_with_the_init_model_and_a_fresh_run_its_own_weights(data: Path, tmp_path: Path) -> None:
    first = Trainer(TrainConfig(**TINY), data, tmp_path / "first", device="cpu").run()
    settings = {**TINY, "init": str(first.checkpoint), "lr": 0.05, "epochs": 1, "batches_per_epoch": 2,
                "frozen_fraction": 0.0}
    Trainer(TrainConfig(**settings), data, tmp_path / "tuned", device="cpu").run()
    Trainer(TrainConfig(**{**settings, "finetuned_share": 0.25}), data, tmp_path / "mixed", device="cpu").run()
    init, tuned, mixed = _weights(tmp_path / "first"), _weights(tmp_path / "tuned"), _weights(tmp_path / "mixed")
    conv = next(k for k in init if k.endswith("_conv_stem.weight"))
    assert not torch.allclose(init[conv], tuned[conv], atol=1e-4)  # the fine-tuning moved it
    assert torch.allclose(mixed[conv], 0.25 * tuned[conv] + 0.75 * init[conv], atol=1e-5)
    assert (tmp_path / "mixed" / "model" / "model.onnx").is_file()  # the average is what gets exported
    # From ImageNet weights there is no trained model to keep: the run saves its own weights.
    Trainer(TrainConfig(**{**TINY, "finetuned_share": 0.5}), data, tmp_path / "fresh", device="cpu").run()
    assert torch.allclose(_weights(tmp_path / "fresh")[conv], init[conv], atol=1e-6)
