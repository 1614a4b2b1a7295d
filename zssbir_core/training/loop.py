"""The training step: one batch through the network, ``lq * Lq + lc * Lc + lk * Lk``, one
optimiser step; and the loader that feeds it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
from torch import nn

from zssbir_core.data.domains import PHOTO, SKETCH
from zssbir_core.errors import ZssbirError
from zssbir_core.losses import DomainBalancedQuadrupletLoss, KnowledgePreservationLoss, SemanticClassificationLoss
from zssbir_core.training.config import TrainConfig
from zssbir_core.training.events import Losses
from zssbir_core.training.setup import NetSetup, TrainingData


class SkipBatches:
    """A batch sampler that leaves out the first ``skip`` batches (resuming inside an epoch)."""

    def __init__(self, sampler: Any, skip: int) -> None:
        self.sampler = sampler
        self.skip = skip

    def __iter__(self) -> Iterator[list[int]]:
        for number, batch in enumerate(self.sampler):
            if number >= self.skip:
                yield batch

    def __len__(self) -> int:
        return len(self.sampler) - self.skip


def train_loader(
    data: TrainingData, sampler: Any, epoch: int, net: NetSetup, config: TrainConfig, device: torch.device,
) -> torch.utils.data.DataLoader:
    """The augmented batches of ``epoch`` (drawn sketches drawn on the fly), seeded by the config's
    seed and the epoch."""
    from zssbir_core.data.doodles import DoodleAugment
    from zssbir_core.data.image_dataset import ImageDataset
    from zssbir_core.data.transforms import train_transform

    preprocessing = net.preprocessing
    transforms = {PHOTO: train_transform(preprocessing, PHOTO),
                  SKETCH: train_transform(preprocessing, SKETCH, sketch_style_p=config.sketch_style_p)}
    drawn = None
    if data.photos_only or data.drawn_paths:
        from zssbir_core.data.pseudo_sketch import PseudoSketchTransform

        drawn = PseudoSketchTransform(transforms[SKETCH], seed=config.seed)
    if data.photos_only:
        transforms[SKETCH] = drawn
    return torch.utils.data.DataLoader(
        ImageDataset(data.train.samples, transforms, target_size=preprocessing.image_size,
                     drawn_paths=data.drawn_paths, drawn_transform=drawn,
                     doodles=data.doodles, doodle_drawing=DoodleAugment() if data.doodles else None),
        batch_sampler=sampler,
        num_workers=config.num_workers,
        pin_memory=device.type == "cuda",
        # Worker seeds drawn from their own generator leave the global one to the augmentations.
        generator=torch.Generator().manual_seed(config.seed * 100_003 + epoch),
    )


class TrainingDivergedError(ZssbirError):
    """The loss became NaN or infinite: nothing trained from here on would be usable."""


class TrainStep:
    """One optimisation step of ``model`` (the network, or its DistributedDataParallel wrapper)."""

    def __init__(
        self,
        config: TrainConfig,
        net: NetSetup,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler | None,
        soft_labels: torch.Tensor,
        device: torch.device,
    ) -> None:
        self.config = config
        self.net = net
        self.model = model
        self.optimizer = optimizer
        self.scaler = scaler
        self.soft_labels = soft_labels
        self.device = device
        self.quadruplet = DomainBalancedQuadrupletLoss(config.margin_cross, config.margin_same, config.mining)
        self.semantic = SemanticClassificationLoss(config.label_smoothing)
        self.knowledge = KnowledgePreservationLoss(config.temperature)

    def set_lr_factor(self, factor: float) -> None:
        """Every parameter group's rate: the base rate times ``factor`` times the group's ``lr_scale``."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr * factor * group["lr_scale"]

    def __call__(self, images: torch.Tensor, labels: torch.Tensor, domains: torch.Tensor) -> Losses:
        """Forward, backward, (clip,) step; the loss terms of the batch."""
        cfg = self.config
        images = images.to(self.device, non_blocking=True)
        if self.net.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        labels = labels.to(self.device)
        domains = domains.to(self.device)
        with self._autocast():
            output = self.model(images)
        zero = images.new_zeros(())
        loss_q = self.quadruplet(output.embedding.float(), labels, domains) if cfg.lq else zero
        loss_c = self.semantic(output.class_logits.float(), labels) if cfg.lc else zero
        loss_k = self.knowledge(output.imagenet_logits.float(), self.soft_labels[labels]) if cfg.lk else zero
        loss = cfg.lq * loss_q + cfg.lc * loss_c + cfg.lk * loss_k
        if not bool(torch.isfinite(loss.detach())):
            raise TrainingDivergedError(
                f"the training loss is {float(loss.detach())} (not a finite number): the run diverged and stops as "
                f"failed; lower lr (now {cfg.lr:g}) or check the starting model. The last saved model is kept.")
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_([p for p in self.net.net.parameters() if p.requires_grad], cfg.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        return Losses(float(loss.detach()), float(loss_q.detach()), float(loss_c.detach()), float(loss_k.detach()))

    def _autocast(self) -> AbstractContextManager[Any]:
        if self.net.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.net.amp_dtype)
