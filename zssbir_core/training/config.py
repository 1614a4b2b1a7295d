"""Training settings: one dataclass, filled from a named recipe, a JSON file and command-line flags,
and checked by one schema (``config_schema``) whichever of them a value comes from."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from zssbir_core.errors import ZssbirError
from zssbir_core.models.schema import SchemaError
from zssbir_core.safe_read import read_regular
from zssbir_core.training.config_schema import check_settings

_MAX_CONFIG_BYTES = 1 << 20


class ConfigError(ZssbirError):
    """A recipe, config file or flag holds an unknown key or an out-of-range value."""


@dataclass
class TrainConfig:
    """Everything that decides a training run; saved into the checkpoint's ``model.json``.

    With ``time_budget_min`` the run ends when that much training time has passed or after
    ``epochs`` x ``batches_per_epoch`` steps, whichever comes first, and the learning-rate schedule
    follows whichever of the two is further along. ``exclude_classes`` are left out of training
    and validation altogether (a benchmark's test classes). Loss weights ``lq``, ``lc``, ``lk`` scale
    the domain-balanced quadruplet, semantic classification and knowledge preservation losses; a
    weight of 0 removes that loss.
    ``pseudo_sketch_fraction`` of the sketch-domain training samples are drawings of the photos
    (``data/pseudo_sketch.py``) beside the real sketches (photos-only data uses drawings alone).
    ``doodles`` is a Quick, Draw! folder (``strokes/<class>.ndjson`` + ``sketch/<class>/<key_id>.png``,
    as ``quickdraw-seen``) whose doodles of the training classes, drawn as the app's canvas draws
    them with strokes-level augmentation (``data/doodles.py``), make ``doodle_fraction`` of those
    classes' sketch samples; ``sketch_style_p`` of the sketches are moved towards another style
    (coarse, blurred, heavy, unfinished: ``transforms.SketchStyleJitter``).
    ``finetuned_share`` below 1 (a fine-tuning from an ``init`` checkpoint) saves a weight average
    instead of the fine-tuned weights: that share of them and the rest of the init model's (WiSE-FT,
    ``weight_average.py``), which keeps the gain on the new data and most of what the init knew; a
    run from ImageNet weights has no trained model to keep and saves its own weights.
    """

    backbone: str = "efficientnet_lite0"
    init: str | None = None
    weights: str | None = None
    embedding_dim: int | None = 512
    image_size: int = 160

    epochs: int = 10
    batches_per_epoch: int | None = 50
    classes_per_batch: int = 16
    samples_per_domain: int = 2

    lr: float = 1e-3
    backbone_lr_scale: float = 0.1
    weight_decay: float = 1e-4
    warmup_steps: int = 20
    frozen_fraction: float = 0.0
    grad_clip: float = 5.0
    time_budget_min: float | None = None

    lq: float = 1.0
    lc: float = 1.0
    lk: float = 1.0
    margin_cross: float = 0.3
    margin_same: float = 0.1
    mining: str = "hardest"
    temperature: float = 2.0
    label_smoothing: float = 0.1
    pseudo_sketch_fraction: float = 0.0
    doodles: str | None = None
    doodle_fraction: float = 0.25
    sketch_style_p: float = 0.0
    finetuned_share: float = 1.0

    val_classes: list[str] | int = 0
    exclude_classes: list[str] = field(default_factory=list)
    val_sketches_per_class: int | None = 20
    val_every: int = 1

    precision: str = "auto"
    channels_last: bool = True
    num_workers: int = 0
    seed: int = 0
    description: str = ""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first bad value (``config_schema.FIELDS``)."""
        try:
            check_settings(dataclasses.asdict(self))
        except SchemaError as error:
            raise ConfigError(f"bad training setting: {error}") from None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def updated(self, changes: dict[str, Any], source: str = "settings") -> TrainConfig:
        """A copy with ``changes`` applied; unknown keys raise ``ConfigError`` naming ``source``."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown training setting(s) {', '.join(unknown)}")
        try:
            return dataclasses.replace(self, **changes)
        except TypeError as error:
            raise ConfigError(f"{source}: {error}") from error


def recipe_names() -> list[str]:
    """Names of the recipes shipped in ``zssbir_core/training/recipes``."""
    folder = resources.files("zssbir_core.training") / "recipes"
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


def _read_json(text: str, source: str) -> dict[str, Any]:
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ConfigError(f"{source} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must hold a JSON object of settings")
    return data


def _refuse_constant(name: str) -> None:
    raise json.JSONDecodeError(f"{name} is not a number a setting can hold", name, 0)


def load_recipe(name: str) -> TrainConfig:
    """The shipped recipe ``name`` (``quick``, ``standard``, ``thorough``, ``cpu-lite0``, ...)."""
    if name not in recipe_names():
        raise ConfigError(f"unknown recipe {name!r}; choose one of {', '.join(recipe_names())}")
    text = (resources.files("zssbir_core.training") / "recipes" / f"{name}.json").read_text(encoding="utf-8")
    return TrainConfig().updated(_read_json(text, f"recipe {name}"), f"recipe {name}")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The settings in the JSON file ``path`` (not yet checked against ``TrainConfig``)."""
    path = Path(path)
    try:
        text = read_regular(path, _MAX_CONFIG_BYTES, follow_links=True).decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {getattr(error, 'strerror', None) or error}") from error
    return _read_json(text, str(path))


def load_config_file(base: TrainConfig, path: str | Path) -> TrainConfig:
    """``base`` overridden by the settings in the JSON file ``path``."""
    return base.updated(read_config_file(path), str(Path(path)))
