"""The training engine: one ImageNet CNN for sketches and photos, fine-tuned with
``lq * Lq + lc * Lc + lk * Lk`` (domain-balanced quadruplet, semantic classification, knowledge
preservation towards the teacher's class soft labels), with model selection on held-out seen
classes.

``OUTPUT`` must be a new or empty folder, or a run folder (``run_folder.claim_run_folder``); it
receives ``.zssbir-run`` (the marker), ``config.json`` (the resolved settings), ``model/`` (the checkpoint with the
best validation mAP@all, or the last one when there are no validation classes), ``resume/``
(deleted when the run completes), ``history.jsonl`` (one line per validation) and ``summary.json``.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zssbir_core.data.domains import PHOTO, SKETCH
from zssbir_core.data.folder import FolderDataset, scan_folder_dataset
from zssbir_core.errors import DatasetError, ModelLoadError, ZssbirError
from zssbir_core.models import ZSSBIRNet, build_backbone, catalog, is_checkpoint_dir, load_checkpoint, save_checkpoint
from zssbir_core.models.checkpoint import TRAINING_MODEL_DIR as MODEL_DIR
from zssbir_core.training import distributed, state
from zssbir_core.training.callbacks import CallbackList, TrainingCallback
from zssbir_core.training.config import TrainConfig
from zssbir_core.training.run_folder import claim_run_folder

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.jsonl"
SUMMARY_FILE = "summary.json"


@dataclass
class TrainResult:
    """How a run ended."""

    status: str  # "completed" or "interrupted"
    checkpoint: Path | None
    best_metrics: dict[str, float]
    steps: int
    wall_s: float


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


def _lr_factor(step: int, warmup: int, done: float) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 1% of the base rate as the
    fraction ``done`` of the run (by steps, or by time under a time budget) goes from 0 to 1."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, done))))


def _resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype (None: full precision)."""
    if precision == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def _freeze_early_layers(trunk: nn.Module, fraction: float) -> list[nn.Module]:
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


class _SkipBatches:
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


class Trainer:
    """Runs one training described by ``config`` on the dataset folder ``data_root``.

    ``stop`` is polled after every step: when set, the trainer saves a resumable state and returns
    with status ``interrupted``. ``resume=True`` continues from ``output/resume`` (and starts
    afresh when nothing was saved there yet).
    """

    def __init__(
        self,
        config: TrainConfig,
        data_root: str | Path,
        output: str | Path,
        *,
        device: str = "auto",
        callbacks: Sequence[TrainingCallback] = (),
        stop: threading.Event | None = None,
        resume: bool = False,
    ) -> None:
        self.config = config
        self.data_root = Path(data_root)
        self.output = Path(output)
        self.device_name = device
        self.stop = stop or threading.Event()
        self.resume = resume
        self.context, self.device = distributed.setup(device)
        self.callbacks = CallbackList(callbacks if self.context.is_main else ())

    # ----------------------------------------------------------------- set-up
    def _emit(self, event: dict[str, Any]) -> None:
        self.callbacks.on_event(event)

    def _prepare_output(self) -> None:
        if not self.context.is_main:
            return
        if self.output.exists() and not self.output.is_dir():
            raise ZssbirError(f"--output {self.output} exists and is not a folder")
        started = state.has_resume_state(self.output) or (self.output / SUMMARY_FILE).is_file()
        if started and not self.resume:
            raise ZssbirError(
                f"{self.output} already holds a training run; pass --resume to continue it, or choose another --output"
            )
        claim_run_folder(self.output, resume=self.resume)
        record = {"data": str(self.data_root.resolve()), "config": self.config.to_dict()}
        (self.output / CONFIG_FILE).write_text(json.dumps(record, indent=2) + "\n")

    def _load_data(self) -> tuple[FolderDataset, FolderDataset | None, list[str]]:
        if not self.data_root.exists():
            raise DatasetError(f"data folder {self.data_root} does not exist")
        if not self.data_root.is_dir():
            raise DatasetError(f"{self.data_root} is a file, not a data folder")
        dataset = scan_folder_dataset(self.data_root)
        if self.config.exclude_classes:
            unknown = sorted(set(self.config.exclude_classes) - set(dataset.classes))
            if unknown:
                raise DatasetError(f"excluded class(es) not in the data: {', '.join(unknown)}")
            excluded = set(self.config.exclude_classes)
            dataset = dataset.subset([name for name in dataset.classes if name not in excluded])
        val_names = split_validation_classes(dataset.classes, self.config.val_classes, self.config.seed)
        train_names = [name for name in dataset.classes if name not in set(val_names)]
        train = dataset.subset(train_names)
        val = dataset.subset(val_names) if val_names else None
        return train, val, val_names

    def _build_net(self, num_classes: int) -> ZSSBIRNet:
        cfg = self.config
        builtin = catalog.builtin(cfg.init) if cfg.init is not None else None
        init = str(builtin.checkpoint_dir) if builtin is not None and builtin.checkpoint_dir is not None else cfg.init
        if init is not None and is_checkpoint_dir(init):
            net, info = load_checkpoint(init)
            if info.backbone != cfg.backbone:
                raise ModelLoadError(
                    f"--init {init} is a {info.backbone} model, but the backbone asked for is {cfg.backbone}"
                )
            net.set_num_classes(num_classes)
            return net.train()
        if init is not None and builtin is None:
            raise ModelLoadError(
                f"--init {init!r} is neither a checkpoint directory nor one of {', '.join(catalog.BUILTIN_IDS)}"
            )
        if builtin is not None and builtin.backbone != cfg.backbone:
            raise ModelLoadError(f"--init {init} has backbone {builtin.backbone}, not {cfg.backbone}")
        backbone = build_backbone(cfg.backbone, weights=cfg.weights)
        return ZSSBIRNet(backbone, cfg.embedding_dim, num_classes)

    def _soft_labels(self, train: FolderDataset) -> torch.Tensor:
        from zssbir_core.teacher import class_soft_labels

        def report(done: int, total: int) -> None:
            if self.stop.is_set():
                raise KeyboardInterrupt
            self._emit({"event": "teacher", "done": done, "total": total})

        def load() -> torch.Tensor:
            return class_soft_labels(
                train,
                backbone=self.config.backbone,
                weights=self.config.weights,
                temperature=self.config.temperature,
                image_size=self.config.image_size,
                device=self.device,
                num_workers=self.config.num_workers,
                progress=report,
            )

        # Rank 0 computes and caches the labels; the other ranks read that cache after the barrier.
        if self.context.is_main:
            labels = load()
        distributed.barrier(self.context)
        if not self.context.is_main:
            labels = load()
        return labels.to(self.device)

    def _train_loader(self, train: FolderDataset, sampler: Any, epoch: int) -> torch.utils.data.DataLoader:
        from zssbir_core.data.image_dataset import ImageDataset
        from zssbir_core.data.transforms import train_transform

        preprocessing = self.preprocessing
        transforms = {PHOTO: train_transform(preprocessing, PHOTO), SKETCH: train_transform(preprocessing, SKETCH)}
        drawn = None
        if self.photos_only or self.drawn_paths:
            from zssbir_core.data.pseudo_sketch import PseudoSketchTransform

            drawn = PseudoSketchTransform(transforms[SKETCH], seed=self.config.seed)
        if self.photos_only:
            transforms[SKETCH] = drawn
        return torch.utils.data.DataLoader(
            ImageDataset(train.samples, transforms, target_size=self.preprocessing.image_size,
                         drawn_paths=self.drawn_paths, drawn_transform=drawn),
            batch_sampler=sampler,
            num_workers=self.config.num_workers,
            pin_memory=self.device.type == "cuda",
            # Worker seeds drawn from their own generator leave the global one to the augmentations.
            generator=torch.Generator().manual_seed(self.config.seed * 100_003 + epoch),
        )

    # ------------------------------------------------------------- validation
    def _val_samples(self, val: FolderDataset) -> list[Any]:
        cap = self.config.val_sketches_per_class
        photos = val.photos()
        sketches = val.sketches()
        if not sketches:  # photos-only data: drawn sketches of the photos are the queries
            import dataclasses

            sketches = [dataclasses.replace(s, domain=SKETCH) for s in photos]
        if cap is not None:
            rng = random.Random(self.config.seed)
            by_class: dict[int, list[Any]] = {}
            for sample in sketches:
                by_class.setdefault(sample.label, []).append(sample)
            sketches = [s for label in sorted(by_class) for s in sorted(
                rng.sample(by_class[label], min(cap, len(by_class[label]))), key=lambda s: str(s.path))]
        return photos + sketches

    @torch.inference_mode()
    def _validate(self, net: ZSSBIRNet, val: FolderDataset, samples: list[Any]) -> dict[str, float]:
        from zssbir_core.data.image_dataset import ImageDataset
        from zssbir_core.evaluation.metrics import retrieval_metrics

        eval_tf = self.preprocessing.transform()
        transforms = {PHOTO: eval_tf, SKETCH: eval_tf}
        if not val.has_sketches:
            from zssbir_core.data.pseudo_sketch import PseudoSketchTransform

            transforms[SKETCH] = PseudoSketchTransform(eval_tf, augment=False)
        loader = torch.utils.data.DataLoader(
            ImageDataset(samples, transforms, target_size=self.preprocessing.image_size),
            batch_size=64,
            num_workers=self.config.num_workers,
        )
        was_training = net.training
        net.eval()
        vectors, labels, domains = [], [], []
        for images, batch_labels, batch_domains in loader:
            images = images.to(self.device, non_blocking=True)
            if self.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            with self._autocast():
                vectors.append(nn.functional.normalize(net.encode(images).float(), dim=1).cpu())
            labels.append(batch_labels)
            domains.append(batch_domains)
        net.train(was_training)
        for module in self.frozen_norms:
            module.eval()
        embeddings = torch.cat(vectors).numpy()
        label_array = torch.cat(labels).numpy()
        domain_array = torch.cat(domains).numpy()
        queries = domain_array == SKETCH
        return retrieval_metrics(
            embeddings[queries], label_array[queries], embeddings[~queries], label_array[~queries]
        )

    def _autocast(self) -> Any:
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    # ------------------------------------------------------------------- run
    def run(self) -> TrainResult:
        """Train; return how it ended. Raises ``ZssbirError`` subclasses for bad input."""
        try:
            return self._run()
        finally:
            self.callbacks.close()
            distributed.teardown(self.context)

    def _run(self) -> TrainResult:
        cfg = self.config
        started = time.perf_counter()
        if self.context.is_main and self.output.exists():  # refuse a user's folder before any work
            claim_run_folder(self.output, resume=self.resume)
        if self.resume and self.context.is_main and (self.output / SUMMARY_FILE).is_file() \
                and not state.has_resume_state(self.output):
            summary = json.loads((self.output / SUMMARY_FILE).read_text())
            self._emit({"event": "end", **summary})
            return TrainResult("completed", self.output / MODEL_DIR, summary["best_metrics"], summary["steps"], 0.0)

        train, val, val_names = self._load_data()
        self._prepare_output()
        soft_labels = self._soft_labels(train)
        # Seeded after the teacher, whose weights may come from the cache or a fresh network.
        random.seed(cfg.seed)
        np.random.seed(cfg.seed)
        torch.manual_seed(cfg.seed)
        net = self._build_net(len(train.classes))
        self.preprocessing = net.backbone.preprocessing.with_size(cfg.image_size)
        net.backbone.preprocessing = self.preprocessing

        self.frozen_norms = _freeze_early_layers(net.backbone.trunk, cfg.frozen_fraction)
        if cfg.lk == 0:
            net.backbone.imagenet_head.requires_grad_(False)
        if cfg.lc == 0 and net.classifier is not None:
            net.classifier.requires_grad_(False)
        self.amp_dtype = _resolve_precision(cfg.precision, self.device)
        self.channels_last = cfg.channels_last and self.device.type == "cuda"
        net = net.to(self.device)
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)

        backbone_ids = {id(p) for p in net.backbone.parameters()}
        groups = [
            {"params": [p for p in net.backbone.parameters() if p.requires_grad], "lr_scale": cfg.backbone_lr_scale},
            {"params": [p for p in net.parameters() if p.requires_grad and id(p) not in backbone_ids], "lr_scale": 1.0},
        ]
        optimizer = torch.optim.AdamW(
            [g for g in groups if g["params"]], lr=cfg.lr, weight_decay=cfg.weight_decay,
            fused=self.device.type in ("cpu", "cuda"),
        )
        scaler = torch.amp.GradScaler(self.device.type) if self.amp_dtype == torch.float16 else None

        train_sampler_classes = min(cfg.classes_per_batch, len(train.classes))
        from zssbir_core.data.sampler import BalancedBatchSampler

        self.photos_only = not train.has_sketches
        if self.photos_only:
            from zssbir_core.data.pseudo_sketch import with_pseudo_sketches

            train = with_pseudo_sketches(train)
        self.drawn_paths: frozenset[Path] = frozenset()
        if not self.photos_only and cfg.pseudo_sketch_fraction > 0:
            from zssbir_core.data.pseudo_sketch import with_drawn_sketches

            train, self.drawn_paths = with_drawn_sketches(train, cfg.pseudo_sketch_fraction)
        sampler = BalancedBatchSampler(
            [s.label for s in train.samples],
            [s.domain for s in train.samples],
            train_sampler_classes,
            cfg.samples_per_domain,
            batches_per_epoch=cfg.batches_per_epoch,
            seed=cfg.seed,
            rank=self.context.rank,
            world_size=self.context.world_size,
        )
        steps_per_epoch = len(sampler)
        total_steps = steps_per_epoch * cfg.epochs

        progress = state.Progress()
        if self.resume and state.has_resume_state(self.output):
            progress = state.load_resume_state(self.output, net, optimizer, scaler)

        model: nn.Module = net
        if self.context.enabled:
            model = nn.parallel.DistributedDataParallel(
                net, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )

        from zssbir_core.losses import (
            DomainBalancedQuadrupletLoss,
            KnowledgePreservationLoss,
            SemanticClassificationLoss,
        )

        quadruplet = DomainBalancedQuadrupletLoss(cfg.margin_cross, cfg.margin_same, cfg.mining)
        semantic = SemanticClassificationLoss(cfg.label_smoothing)
        knowledge = KnowledgePreservationLoss(cfg.temperature)
        val_samples = self._val_samples(val) if val is not None and self.context.is_main else []

        self._emit({
            "event": "start",
            "total_steps": total_steps,
            "epochs": cfg.epochs,
            "steps_per_epoch": steps_per_epoch,
            "train_classes": len(train.classes),
            "val_classes": val_names,
            "device": str(self.device),
            "precision": str(self.amp_dtype).replace("torch.", "") if self.amp_dtype else "fp32",
            "world_size": self.context.world_size,
            "resumed_from_step": progress.step,
        })

        step_times: deque[float] = deque(maxlen=20)
        validation_s = 0.0
        interrupted = out_of_time = False
        budget_s = cfg.time_budget_min * 60.0 if cfg.time_budget_min else None
        run_started = time.perf_counter() - progress.elapsed_s
        net.train()
        for module in self.frozen_norms:
            module.eval()
        for epoch in range(progress.epoch, cfg.epochs):
            sampler.set_epoch(epoch)
            loader = self._train_loader(train, _SkipBatches(sampler, progress.batch_in_epoch), epoch)
            for images, labels, domains in loader:
                tick = time.perf_counter()
                done = self._fraction_done(progress.step, total_steps, tick - run_started)
                if done >= 1.0:
                    out_of_time = True
                    break
                factor = _lr_factor(progress.step, cfg.warmup_steps, done)
                for group in optimizer.param_groups:
                    group["lr"] = cfg.lr * factor * group["lr_scale"]
                images = images.to(self.device, non_blocking=True)
                if self.channels_last:
                    images = images.contiguous(memory_format=torch.channels_last)
                labels = labels.to(self.device)
                domains = domains.to(self.device)
                with self._autocast():
                    output = model(images)
                loss_q = quadruplet(output.embedding.float(), labels, domains) if cfg.lq else images.new_zeros(())
                loss_c = semantic(output.class_logits.float(), labels) if cfg.lc else images.new_zeros(())
                loss_k = (knowledge(output.imagenet_logits.float(), soft_labels[labels]) if cfg.lk
                          else images.new_zeros(()))
                loss = cfg.lq * loss_q + cfg.lc * loss_c + cfg.lk * loss_k
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.unscale_(optimizer)
                else:
                    loss.backward()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_([p for p in net.parameters() if p.requires_grad], cfg.grad_clip)
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                progress.step += 1
                progress.batch_in_epoch += 1
                step_times.append(time.perf_counter() - tick)
                if self.context.is_main:
                    mean_step = sum(step_times) / len(step_times)
                    remaining = total_steps - progress.step
                    if budget_s is not None:
                        remaining = min(remaining, max(0.0, budget_s - (time.perf_counter() - run_started)) / mean_step)
                    self._emit({
                        "event": "step",
                        "step": progress.step,
                        "epoch": epoch + 1,
                        "losses": {
                            "total": float(loss.detach()),
                            "quadruplet": float(loss_q.detach()),
                            "semantic": float(loss_c.detach()),
                            "knowledge": float(loss_k.detach()),
                        },
                        "lr": cfg.lr * factor,
                        "images_per_s": len(labels) * self.context.world_size / step_times[-1],
                        "eta_s": remaining * mean_step + validation_s * self._validations_left(epoch, False),
                        "metric": progress.last_metric,
                    })
                # Checked before the next batch is drawn, so a resumed run sees the same batches
                # and augmentations as one that never stopped.
                if distributed.any_rank(self.stop.is_set(), self.context, self.device):
                    interrupted = True
                    break
            if interrupted:
                break
            progress.epoch = epoch + 1
            progress.batch_in_epoch = 0
            last_epoch = epoch + 1 == cfg.epochs or out_of_time
            if self.context.is_main and val is not None and ((epoch + 1) % cfg.val_every == 0 or last_epoch):
                tick = time.perf_counter()
                metrics = self._validate(net, val, val_samples)
                validation_s = time.perf_counter() - tick
                best = progress.best_metric is None or metrics["map_all"] > progress.best_metric
                progress.last_metric = metrics["map_all"]
                if best:
                    progress.best_metric, progress.best_epoch, progress.best_metrics = (
                        metrics["map_all"], epoch + 1, metrics)
                    self._save_model(net, train, val_names, progress)
                record = {"event": "validation", "epoch": epoch + 1, "step": progress.step, "metrics": metrics,
                          "best": best}
                with open(self.output / HISTORY_FILE, "a", encoding="utf-8") as history:
                    history.write(json.dumps(record) + "\n")
                self._emit(record)
            if self.context.is_main and val is None and last_epoch:
                progress.best_epoch = epoch + 1
                self._save_model(net, train, val_names, progress)
            if self.context.is_main and not last_epoch:
                progress.elapsed_s = time.perf_counter() - run_started
                state.save_resume_state(self.output, net, optimizer, scaler, progress)
            distributed.barrier(self.context)
            if out_of_time:
                break

        progress.elapsed_s = time.perf_counter() - run_started
        status = "interrupted" if interrupted else "completed"
        checkpoint = self.output / MODEL_DIR if (self.output / MODEL_DIR).is_dir() else None
        if self.context.is_main:
            if interrupted:
                state.save_resume_state(self.output, net, optimizer, scaler, progress)
            else:
                state.remove_resume_state(self.output)
            summary = {
                "status": status,
                "checkpoint": str(checkpoint) if checkpoint else None,
                "best_metrics": progress.best_metrics,
                "best_epoch": progress.best_epoch,
                "steps": progress.step,
                "wall_s": round(time.perf_counter() - started, 3),
                "train_s": round(progress.elapsed_s, 3),
            }
            if not interrupted:
                (self.output / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
            self._emit({"event": "end", **summary})
        return TrainResult(status, checkpoint, progress.best_metrics, progress.step, time.perf_counter() - started)

    def _fraction_done(self, step: int, total_steps: int, elapsed_s: float) -> float:
        """How far the run is, by steps, or by time when a time budget is set (whichever is further).

        Under ``torchrun`` every process takes rank 0's clock, so all stop at the same step.
        """
        done = step / total_steps
        if self.config.time_budget_min:
            clock = torch.tensor([elapsed_s], dtype=torch.float64, device=self.device)
            if self.context.enabled:
                torch.distributed.broadcast(clock, src=0)
            done = max(done, float(clock) / (self.config.time_budget_min * 60.0))
        return done

    def _validations_left(self, epoch: int, done_this_epoch: bool) -> int:
        cfg = self.config
        remaining_epochs = range(epoch + (1 if done_this_epoch else 0), cfg.epochs)
        return sum(1 for e in remaining_epochs if (e + 1) % cfg.val_every == 0 or e + 1 == cfg.epochs)

    def _save_model(self, net: ZSSBIRNet, train: FolderDataset, val_names: list[str], progress: state.Progress) -> None:
        training = {
            "config": self.config.to_dict(),
            "data": str(self.data_root.resolve()),
            "data_fingerprint": train.fingerprint(),
            "val_classes": val_names,
            "epoch": progress.best_epoch,
            "step": progress.step,
        }
        metrics = {f"val_{key}": value for key, value in progress.best_metrics.items()}
        save_checkpoint(net, self.output / MODEL_DIR, classes=list(train.classes), training=training,
                        metrics=metrics, preprocessing=self.preprocessing)
