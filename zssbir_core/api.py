"""The core API: everything an application (the desktop app) needs from ``zssbir_core``, in one place.

The desktop imports nothing from core but this module, ``zssbir_core.errors`` and
``zssbir_core.paths`` (an import-linter contract in ``pyproject.toml`` checks it). Importing it
loads neither torch nor the model code: each function imports what it needs when it is called,
and the classes below are imported on first use (PEP 562), so a window can appear before torch
has loaded. Type checkers see the real classes through the ``TYPE_CHECKING`` imports.

Groups: libraries (open, index, search), images, models (catalog, loading, weights download),
devices and memory, training (the child process) and fine-tuning helpers.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zssbir_core import __version__
from zssbir_core.models.catalog import DEFAULT_MODEL, ModelChoice, backbone_of, downloaded_model, model_choices
from zssbir_core.training.events import (
    EndEvent,
    EventFormatError,
    Losses,
    StartEvent,
    StepEvent,
    TeacherEvent,
    TrainingEvent,
    ValidationEvent,
    parse_event,
)

if TYPE_CHECKING:
    from PIL import Image

    from zssbir_core.cpu_allocator import MallocTuning
    from zssbir_core.data.doodles import CANVAS_PEN_WIDTH, REFERENCE_SIDE
    from zssbir_core.data.folder import FolderDataset
    from zssbir_core.device import DeviceInfo
    from zssbir_core.finetuning.data_check import TrainingDataReport
    from zssbir_core.finetuning.estimate import TimeEstimate
    from zssbir_core.finetuning.holdout import HoldoutSplit
    from zssbir_core.library import FolderInfo, IndexProgress, PhotoLibrary, SearchResult, SkippedFile
    from zssbir_core.library.model_spec import ModelRequest
    from zssbir_core.library.thumbnails import THUMBNAIL_SIZE
    from zssbir_core.library.watcher import FolderWatcher
    from zssbir_core.models.registry import Embedder
    from zssbir_core.models.resnet import DownloadCancelled
    from zssbir_core.models.store import ModelStore, StoredModel
    from zssbir_core.photo_metadata import PhotoMetadata
    from zssbir_core.refine import Feedback, Rocchio
    from zssbir_core.search import SketchSearcher

__all__ = [
    "__version__",
    "CANVAS_PEN_WIDTH",
    "DEFAULT_MODEL",
    "DeviceInfo",
    "DownloadCancelled",
    "Embedder",
    "EndEvent",
    "EventFormatError",
    "Feedback",
    "FolderWatcher",
    "FolderDataset",
    "FolderInfo",
    "HoldoutSplit",
    "IndexProgress",
    "Losses",
    "ModelChoice",
    "ModelRequest",
    "ModelStore",
    "PhotoLibrary",
    "PhotoMetadata",
    "REFERENCE_SIDE",
    "Rocchio",
    "SearchResult",
    "SketchSearcher",
    "SkippedFile",
    "StartEvent",
    "StepEvent",
    "StoredModel",
    "THUMBNAIL_SIZE",
    "TeacherEvent",
    "TimeEstimate",
    "TrainingDataReport",
    "TrainingEvent",
    "ValidationEvent",
    "available_devices",
    "backbone_of",
    "check_training_folder",
    "compare_models",
    "ensure_weights",
    "estimate_time",
    "fine_tuning_recipes",
    "format_duration",
    "load_model",
    "make_searcher",
    "model_for_library",
    "model_choices",
    "open_image",
    "open_library",
    "parse_event",
    "read_photo_metadata",
    "needs_download",
    "resolve_device",
    "split_holdout",
    "training_command",
    "training_install_command",
    "training_installed",
    "tune_malloc",
    "warmup_settings",
    "watch_library",
    "weights_file_model",
]

_LAZY = {
    "CANVAS_PEN_WIDTH": "zssbir_core.data.doodles",
    "REFERENCE_SIDE": "zssbir_core.data.doodles",
    "THUMBNAIL_SIZE": "zssbir_core.library.thumbnails",
    "DeviceInfo": "zssbir_core.device",
    "DownloadCancelled": "zssbir_core.models.resnet",
    "Embedder": "zssbir_core.models.registry",
    "Feedback": "zssbir_core.refine",
    "FolderDataset": "zssbir_core.data.folder",
    "FolderWatcher": "zssbir_core.library.watcher",
    "FolderInfo": "zssbir_core.library.records",
    "HoldoutSplit": "zssbir_core.finetuning.holdout",
    "IndexProgress": "zssbir_core.library.records",
    "ModelRequest": "zssbir_core.library.model_spec",
    "ModelStore": "zssbir_core.models.store",
    "PhotoLibrary": "zssbir_core.library.library",
    "PhotoMetadata": "zssbir_core.photo_metadata",
    "Rocchio": "zssbir_core.refine",
    "SearchResult": "zssbir_core.library.records",
    "SketchSearcher": "zssbir_core.search",
    "SkippedFile": "zssbir_core.library.records",
    "StoredModel": "zssbir_core.models.store",
    "TimeEstimate": "zssbir_core.finetuning.estimate",
    "TrainingDataReport": "zssbir_core.finetuning.data_check",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


# -- libraries -------------------------------------------------------------------------------------


def open_library(directory: str | Path) -> PhotoLibrary:
    """Open (or create) the photo library in ``directory``; raises ``LibraryError`` with a message.

    The library indexes its watched folders (``PhotoLibrary.index`` yields ``IndexProgress``) and
    is closed with ``close()`` or a ``with`` block.
    """
    from zssbir_core.library.library import PhotoLibrary

    return PhotoLibrary.open(Path(directory))


def model_for_library(
    library: PhotoLibrary | None, override: str | Path | None = None, image_size: int | None = None
) -> ModelRequest:
    """The model to search ``library`` with: ``override`` when given, else the library's own
    model, else ``DEFAULT_MODEL``; ``image_size`` wins over the size the library recorded. Raises
    ``LibraryError`` when the library's model is neither built in nor among the stored ones."""
    from zssbir_core.library.model_spec import model_for_library as _model_for_library

    return _model_for_library(library, override, image_size)


def watch_library(library: PhotoLibrary, on_change: Callable[[], None]) -> FolderWatcher:
    """Start watching the library's folders: ``on_change()`` is called (on the watcher's thread) a
    moment after photos there are added, changed, moved or deleted; an indexing run then picks them
    up. Follow folder changes with ``set_folders``; ``stop()`` it before closing the library."""
    from zssbir_core.library.watcher import FolderWatcher

    return FolderWatcher([f.path for f in library.folders()], on_change, ignore=[library.directory]).start()


def make_searcher(library: PhotoLibrary, embedder: Embedder) -> SketchSearcher:
    """A searcher that embeds sketches, pictures or library photos with ``embedder`` and looks
    them up in ``library``."""
    from zssbir_core.search import SketchSearcher

    return SketchSearcher(library, embedder)


# -- images ----------------------------------------------------------------------------------------


def open_image(path: str | Path, *, target_size: int | None = None) -> Image.Image:
    """Read a photo, upright (EXIF orientation applied) and RGB; ``ImageReadError`` says why not."""
    from zssbir_core.imageio import open_image as _open_image

    return _open_image(path, target_size=target_size)


def read_photo_metadata(path: str | Path) -> PhotoMetadata:
    """The date, camera and size of a photo (what the results' details show)."""
    from zssbir_core.photo_metadata import read_photo_metadata as _read

    return _read(path)


# -- models ----------------------------------------------------------------------------------------


def load_model(
    spec: str | Path, *, device: str = "cpu", weights: str | Path | None = None, image_size: int | None = None
) -> Embedder:
    """Load a catalog model (``model_choices()``), a checkpoint folder or a training run's output
    folder for inference; ``ModelLoadError`` or ``WeightsUnavailableError`` say why not."""
    from zssbir_core.models.registry import load_model as _load_model

    return _load_model(spec, device=device, weights=weights, image_size=image_size)


def needs_download(spec: str | Path, weights: str | Path | None = None) -> bool:
    """True when loading ``spec`` would first download weights (the catalog says which models
    download; a local ``weights`` file or the cached download makes it False)."""
    from zssbir_core.models.weights import needs_download as _needs

    return _needs(spec, weights)


def ensure_weights(
    spec: str | Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    url: str | None = None,
) -> Path | None:
    """Download the weights of ``spec`` into the cache if the catalog downloads them
    (``progress(done, total)`` bytes) and return the file; None for a model that needs none. A
    cancelled download raises ``DownloadCancelled`` and leaves nothing behind."""
    from zssbir_core.models.weights import ensure_weights as _ensure

    return _ensure(spec, progress=progress, cancel=cancel, url=url)


def weights_file_model() -> ModelChoice:
    """The built-in model a local ImageNet weights file is for (the one the catalog downloads)."""
    model = downloaded_model()
    return ModelChoice(model.id, model.short_name, True)


# -- devices and memory ----------------------------------------------------------------------------


def available_devices() -> list[DeviceInfo]:
    """The devices this machine can compute on (the CPU last): PyTorch's, or without torch the CPU
    and the GPU of ONNX Runtime's CUDA provider when installed."""
    from zssbir_core.device import DeviceInfo, cpu_device
    from zssbir_core.models.runtime_choice import CUDA, onnxruntime_providers, torch_installed

    if torch_installed():
        from zssbir_core.device import available_devices as _available

        return _available()
    gpu = [DeviceInfo("cuda", "GPU (ONNX Runtime's CUDA provider)")] if CUDA in onnxruntime_providers() else []
    return [*gpu, cpu_device()]


def resolve_device(name: str = "auto") -> str:
    """The device ``name`` (``auto``, ``cpu``, ``cuda``, ``mps``) stands for here, as text (for
    training: PyTorch's; without torch, the name checked, ``auto`` being the CPU)."""
    from zssbir_core.models.runtime_choice import parse_device, torch_installed

    if not torch_installed():
        return parse_device(name).replace("auto", "cpu")
    from zssbir_core.device import resolve_device as _resolve

    return str(_resolve(name))


def tune_malloc() -> MallocTuning:
    """Tune glibc's malloc for tensor work (bounded); call once at start-up, before torch
    allocates. Says whether glibc accepted the settings."""
    from zssbir_core.cpu_allocator import tune_malloc as _tune

    return _tune()


# -- training and fine-tuning ----------------------------------------------------------------------


def training_installed() -> bool:
    """Whether training and fine-tuning can run here (PyTorch, the ``train`` extra, is importable)."""
    from zssbir_core.models.runtime_choice import torch_installed

    return torch_installed()


def training_install_command() -> str:
    """The command that adds training to this installation (into this Python's environment)."""
    if getattr(sys, "frozen", False):
        return "pip install 'zssbir[train]'"
    return f'"{sys.executable}" -m pip install "zssbir[train]"'


def training_command(train_args: Sequence[str]) -> tuple[str, list[str]]:
    """``(program, arguments)`` of the training child process: ``python -m zssbir_core train
    <train_args> --progress json``, whose stdout carries one JSON event a line (``parse_event``
    turns one into a ``TeacherEvent``, ``StartEvent``, ``StepEvent``, ``ValidationEvent`` or
    ``EndEvent``; ``EventFormatError`` says why a line is none of them)."""
    return sys.executable, ["-m", "zssbir_core", "train", *train_args, "--progress", "json"]


def check_training_folder(root: str | Path) -> TrainingDataReport:
    """Whether ``root`` (one folder per class) can be trained on, with the counts and problems."""
    from zssbir_core.finetuning.data_check import check_training_folder as _check

    return _check(root)


def split_holdout(dataset: FolderDataset, directory: str | Path) -> HoldoutSplit:
    """Write ``directory/train`` and ``directory/heldout`` (about a fifth of each class held out)."""
    from zssbir_core.finetuning.holdout import split_holdout as _split

    return _split(dataset, directory)


def fine_tuning_recipes() -> tuple[str, ...]:
    """The recipes a fine-tune offers, shortest first."""
    from zssbir_core.finetuning.estimate import FINE_TUNING_RECIPES

    return FINE_TUNING_RECIPES


def warmup_settings() -> dict[str, object]:
    """Training settings of the short warm-up run that measures the step time."""
    from zssbir_core.finetuning.estimate import warmup_settings as _settings

    return _settings()


def estimate_time(recipe: str, step_times: Sequence[float], startup_seconds: float) -> TimeEstimate:
    """How long ``recipe`` will take, from the warm-up run's step times and start-up time."""
    from zssbir_core.finetuning.estimate import estimate_time as _estimate

    return _estimate(recipe, step_times, startup_seconds)


def format_duration(seconds: float) -> str:
    """``seconds`` as a person reads it: ``45 s``, ``7 min``, ``1 h 20 min``."""
    from zssbir_core.finetuning.estimate import format_duration as _format

    return _format(seconds)


def compare_models(
    specs: Sequence[str], data: FolderDataset | str | Path, *, device: str = "cpu",
    cancel: threading.Event | None = None,
) -> dict[str, dict[str, float]]:
    """``{spec: retrieval metrics}`` (``map_all``, ``p_10``, ...) of each model on a held-out folder."""
    from zssbir_core.finetuning.figures import compare_models as _compare

    return _compare(specs, data, device=device, cancel=cancel)
