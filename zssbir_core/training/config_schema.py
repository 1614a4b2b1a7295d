"""The one schema of the training settings: every field's type and bounds, checked wherever the
settings come from (a shipped recipe, a ``--config`` JSON file, command-line flags, a resumed
run's ``config.json``, the app's fine-tuning), so that nothing out of range, no ``NaN`` or
infinity, and no setting that could not be trained or loaded afterwards ever reaches the trainer.
"""

from __future__ import annotations

from typing import Any

from zssbir_core.models.backbone_names import BACKBONES
from zssbir_core.models.schema import Float, Int, List, Nullable, Rule, SchemaError, Str

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
MINING_MODES = ("hardest", "semihard")
# The limits a saved model must meet to load again (``models.model_json``, ``models.preprocessing``;
# repeated here so that reading settings does not import torch, and tested equal).
MAX_EMBEDDING_DIM = 4096
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 32, 1024
MAX_BATCH = 4096
"""Most images in one batch (the command line's ``--batch-size`` limit too)."""
MAX_WORKERS = 256
MAX_BATCH_BYTES_IN_FLIGHT = 8 << 30
"""Most memory the batches of one process may hold: the one being trained on and the data loader's
prefetched ones (two per worker), at 4 bytes per input value."""
MAX_CLASSES = 20_000
_STEPS = 10_000_000
_PATH = Str(max_length=4096)
_CLASS_NAMES = List(Str(max_length=256), max_items=MAX_CLASSES)


class Bool(Rule):
    """``true`` or ``false``."""

    def check(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise SchemaError(f"{where} must be true or false, not {str(value)[:40]!r}")
        return value


class CountOrNames(Rule):
    """A number of classes (from 0) or a list of class names."""

    def check(self, value: Any, where: str) -> int | list[str]:
        return _CLASS_NAMES.check(value, where) if isinstance(value, list) else Int(0, MAX_CLASSES).check(value, where)


FIELDS: dict[str, Rule] = {
    "backbone": Str(max_length=64, choices=BACKBONES),
    "init": Nullable(_PATH),
    "weights": Nullable(_PATH),
    "embedding_dim": Int(2, MAX_EMBEDDING_DIM, nullable=True),
    "image_size": Int(MIN_IMAGE_SIZE, MAX_IMAGE_SIZE),
    "epochs": Int(1, 100_000),
    "batches_per_epoch": Int(1, _STEPS, nullable=True),
    "classes_per_batch": Int(2, MAX_BATCH // 2),
    "samples_per_domain": Int(1, MAX_BATCH // 4),
    "lr": Float(1e-12, 10.0),
    "backbone_lr_scale": Float(0.0, 100.0),
    "weight_decay": Float(0.0, 10.0),
    "warmup_steps": Int(0, _STEPS),
    "frozen_fraction": Float(0.0, 1.0),
    "grad_clip": Float(0.0, 1e6),
    "time_budget_min": Nullable(Float(1e-9, 1e6)),
    "lq": Float(0.0, 1000.0),
    "lc": Float(0.0, 1000.0),
    "lk": Float(0.0, 1000.0),
    "margin_cross": Float(0.0, 4.0),
    "margin_same": Float(0.0, 4.0),
    "mining": Str(max_length=16, choices=MINING_MODES),
    "temperature": Float(1e-3, 1000.0),
    "label_smoothing": Float(0.0, 0.999),
    "pseudo_sketch_fraction": Float(0.0, 0.999),
    "doodles": Nullable(_PATH),
    "doodle_fraction": Float(0.001, 0.999),
    "sketch_style_p": Float(0.0, 1.0),
    "finetuned_share": Float(0.0, 1.0),
    "val_classes": CountOrNames(),
    "exclude_classes": _CLASS_NAMES,
    "val_sketches_per_class": Int(1, 1_000_000, nullable=True),
    "val_every": Int(1, 100_000),
    "precision": Str(max_length=8, choices=PRECISIONS),
    "channels_last": Bool(),
    "num_workers": Int(0, MAX_WORKERS),
    "seed": Int(0, 2**32 - 1),
    "description": Str(max_length=10_000),
}


def check_settings(values: dict[str, Any]) -> None:
    """Raise ``SchemaError`` naming the first field of ``values`` (all of ``FIELDS``) that is out
    of its type or bounds, or a combination that cannot be trained."""
    for name, rule in FIELDS.items():
        rule.check(values[name], name)
    if values["lq"] + values["lc"] + values["lk"] <= 0:
        raise SchemaError("at least one of the loss weights lq, lc, lk must be positive")
    batch = values["classes_per_batch"] * 2 * values["samples_per_domain"]
    if batch > MAX_BATCH:
        raise SchemaError(f"a batch of classes_per_batch x 2 x samples_per_domain = {batch} images is more than {MAX_BATCH}")
    in_flight = (1 + 2 * values["num_workers"]) * batch * 3 * values["image_size"] ** 2 * 4
    if in_flight > MAX_BATCH_BYTES_IN_FLIGHT:
        raise SchemaError(
            f"{batch} images of {values['image_size']} px a batch, with {values['num_workers']} loader workers "
            f"prefetching two batches each, would hold {in_flight / 2**30:.0f} GB of batches in memory "
            f"(at most {MAX_BATCH_BYTES_IN_FLIGHT >> 30} GB): lower the batch size, the image size or num_workers")
