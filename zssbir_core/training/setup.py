"""What a run is built from: the data (training and validation classes, drawn sketches), the
network (fresh, built in or from a checkpoint; early layers frozen), the teacher's soft labels,
the batch sampler and the optimiser."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zssbir_core.data.folder import FolderDataset, scan_folder_dataset
from zssbir_core.data.sampler import BalancedBatchSampler
from zssbir_core.errors import DatasetError, ModelLoadError
from zssbir_core.models import ZSSBIRNet, build_backbone, catalog, is_checkpoint_dir, load_checkpoint
from zssbir_core.models.preprocessing import Preprocessing
from zssbir_core.training import distributed
from zssbir_core.training.config import TrainConfig
from zssbir_core.training.distributed import DistContext


def split_validation_classes(classes: Sequence[str], val_classes: Sequence[str] | int, seed: int) -> list[str]:
    """The validation classes: the names given, or ``val_classes`` of them picked with ``seed``."""
    if isinstance(val_classes, int):
        if val_classes == 0:
            return []
        if val_classes > len(classes) - 2:
            raise DatasetError(
                f"cannot hold out {val_classes} validation classes: the data has {len(classes)} classes "
                "and training needs at least 2"
            )
        return sorted(random.Random(seed).sample(sorted(classes), val_classes))
    missing = sorted(set(val_classes) - set(classes))
    if missing:
        raise DatasetError(f"validation class(es) not in the data: {', '.join(missing)}")
    if len(classes) - len(set(val_classes)) < 2:
        raise DatasetError("training needs at least 2 classes that are not validation classes")
    return sorted(set(val_classes))


def load_data(data_root: Path, config: TrainConfig) -> tuple[FolderDataset, FolderDataset | None, list[str]]:
    """``(train, val, val_names)``: the data folder less the excluded classes, split into training
    and validation classes (``val`` is None when there are none)."""
    if not data_root.exists():
        raise DatasetError(f"data folder {data_root} does not exist")
    if not data_root.is_dir():
        raise DatasetError(f"{data_root} is a file, not a data folder")
    dataset = scan_folder_dataset(data_root)
    if config.exclude_classes:
        unknown = sorted(set(config.exclude_classes) - set(dataset.classes))
        if unknown:
            raise DatasetError(f"excluded class(es) not in the data: {', '.join(unknown)}")
        excluded = set(config.exclude_classes)
        dataset = dataset.subset([name for name in dataset.classes if name not in excluded])
    val_names = split_validation_classes(dataset.classes, config.val_classes, config.seed)
    train_names = [name for name in dataset.classes if name not in set(val_names)]
    val = dataset.subset(val_names) if val_names else None
    return dataset.subset(train_names), val, val_names


@dataclass(frozen=True)
class TrainingData:
    """The training samples as the loader sees them: photos-only data gets one drawn sketch per
    photo (``photos_only``); with real sketches, ``drawn_paths`` are the photos that also stand
    in as drawn sketches (``pseudo_sketch_fraction``); ``doodles`` are the strokes of the doodle
    samples (``config.doodles``) by their PNG path."""

    train: FolderDataset
    photos_only: bool
    drawn_paths: frozenset[Path]
    doodles: dict[Path, Any] = field(default_factory=dict)


def with_drawings(train: FolderDataset, config: TrainConfig) -> TrainingData:
    """``train`` with the drawn sketches and doodles the data or the config calls for."""
    from zssbir_core.data.doodles import with_doodles
    from zssbir_core.data.pseudo_sketch import with_drawn_sketches, with_pseudo_sketches

    if not train.has_sketches:
        return TrainingData(with_pseudo_sketches(train), True, frozenset())
    drawn_paths: frozenset[Path] = frozenset()
    doodles: dict[Path, Any] = {}
    if config.doodles:
        train, doodles = with_doodles(train, Path(config.doodles), config.doodle_fraction)
    if config.pseudo_sketch_fraction > 0:
        train, drawn_paths = with_drawn_sketches(train, config.pseudo_sketch_fraction)
    return TrainingData(train, False, drawn_paths, doodles)


def batch_sampler(train: FolderDataset, config: TrainConfig, context: DistContext) -> BalancedBatchSampler:
    """Batches of whole classes, ``samples_per_domain`` photos and sketches each (this rank's share)."""
    return BalancedBatchSampler(
        [s.label for s in train.samples],
        [s.domain for s in train.samples],
        min(config.classes_per_batch, len(train.classes)),
        config.samples_per_domain,
        batches_per_epoch=config.batches_per_epoch,
        seed=config.seed,
        rank=context.rank,
        world_size=context.world_size,
    )


def soft_labels(
    train: FolderDataset, config: TrainConfig, device: torch.device, context: DistContext,
    progress: Callable[[int, int], None],
) -> torch.Tensor:
    """The teacher's class soft labels of ``train`` on ``device``; ``progress(done, total)`` may
    raise to stop. Rank 0 computes and caches them; the other ranks read that cache after the barrier."""
    from zssbir_core.teacher import class_soft_labels

    def load() -> torch.Tensor:
        return class_soft_labels(
            train,
            backbone=config.backbone,
            weights=config.weights,
            temperature=config.temperature,
            image_size=config.image_size,
            device=device,
            num_workers=config.num_workers,
            progress=progress,
        )

    if context.is_main:
        labels = load()
    distributed.barrier(context)
    if not context.is_main:
        labels = load()
    return labels.to(device)


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def init_folder(config: TrainConfig) -> str | None:
    """The folder ``config.init`` names: a built-in model's packaged checkpoint, or the path itself."""
    builtin = catalog.builtin(config.init) if config.init is not None else None
    return str(builtin.checkpoint_dir) if builtin is not None and builtin.checkpoint_dir is not None else config.init


def averaged_with(config: TrainConfig) -> str | None:
    """The checkpoint folder the result is averaged with (``finetuned_share`` below 1): the init
    model's, or None when the run starts from ImageNet weights, which hold no trained model to keep."""
    init = init_folder(config)
    return init if config.finetuned_share < 1.0 and init is not None and is_checkpoint_dir(init) else None


def build_net(config: TrainConfig, num_classes: int) -> ZSSBIRNet:
    """The network to train: a checkpoint's (``init``: a folder or a built-in model that has one)
    or a fresh one on ImageNet weights, with a classifier over ``num_classes``."""
    builtin = catalog.builtin(config.init) if config.init is not None else None
    init = init_folder(config)
    if init is not None and is_checkpoint_dir(init):
        net, info = load_checkpoint(init)
        if info.backbone != config.backbone:
            raise ModelLoadError(
                f"--init {init} is a {info.backbone} model, but the backbone asked for is {config.backbone}"
            )
        net.set_num_classes(num_classes)
        return net.train()
    if init is not None and builtin is None:
        raise ModelLoadError(
            f"--init {init!r} is neither a checkpoint directory nor one of {', '.join(catalog.BUILTIN_IDS)}"
        )
    if builtin is not None and builtin.backbone != config.backbone:
        raise ModelLoadError(f"--init {init} has backbone {builtin.backbone}, not {config.backbone}")
    backbone = build_backbone(config.backbone, weights=config.weights)
    return ZSSBIRNet(backbone, config.embedding_dim, num_classes)


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype (None: full precision)."""
    if precision == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def freeze_early_layers(trunk: nn.Module, fraction: float) -> list[nn.Module]:
    """Freeze the first ``fraction`` of the trunk's parameter tensors (in network order).

    Returns the BatchNorm layers left with no trainable parameter: they are kept in eval mode
    so their running statistics stay the ImageNet ones.
    """
    parameters = list(trunk.named_parameters())
    frozen = {name for name, _ in parameters[: round(fraction * len(parameters))]}
    for name, parameter in parameters:
        if name in frozen:
            parameter.requires_grad_(False)
    return [
        module
        for module in trunk.modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm)
        and all(not p.requires_grad for p in module.parameters())
    ]


@dataclass(frozen=True)
class NetSetup:
    """The network on its device, ready to train, and how it runs."""

    net: ZSSBIRNet
    preprocessing: Preprocessing
    frozen_norms: list[nn.Module]
    amp_dtype: torch.dtype | None
    channels_last: bool


def prepare_net(config: TrainConfig, num_classes: int, device: torch.device) -> NetSetup:
    """``build_net`` at the config's image size, early layers frozen, heads of unused losses
    frozen, moved to ``device`` (channels-last on CUDA when asked)."""
    net = build_net(config, num_classes)
    preprocessing = net.backbone.preprocessing.with_size(config.image_size)
    net.backbone.preprocessing = preprocessing
    frozen_norms = freeze_early_layers(net.backbone.trunk, config.frozen_fraction)
    if config.lk == 0:
        net.backbone.imagenet_head.requires_grad_(False)
    if config.lc == 0 and net.classifier is not None:
        net.classifier.requires_grad_(False)
    channels_last = config.channels_last and device.type == "cuda"
    net = net.to(device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return NetSetup(net, preprocessing, frozen_norms, resolve_precision(config.precision, device), channels_last)


def build_optimizer(
    net: ZSSBIRNet, config: TrainConfig, device: torch.device, amp_dtype: torch.dtype | None,
) -> tuple[torch.optim.AdamW, torch.amp.GradScaler | None]:
    """AdamW over the trainable parameters (the backbone's at ``backbone_lr_scale`` of the rate:
    each group's ``lr_scale``), and a gradient scaler for float16."""
    backbone_ids = {id(p) for p in net.backbone.parameters()}
    groups = [
        {"params": [p for p in net.backbone.parameters() if p.requires_grad], "lr_scale": config.backbone_lr_scale},
        {"params": [p for p in net.parameters() if p.requires_grad and id(p) not in backbone_ids], "lr_scale": 1.0},
    ]
    optimizer = torch.optim.AdamW(
        [g for g in groups if g["params"]], lr=config.lr, weight_decay=config.weight_decay,
        fused=device.type in ("cpu", "cuda"),
    )
    scaler = torch.amp.GradScaler(device.type) if amp_dtype == torch.float16 else None
    return optimizer, scaler
