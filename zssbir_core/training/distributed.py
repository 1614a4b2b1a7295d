"""Running under ``torchrun``: one process per device, gradients averaged by DistributedDataParallel.

A plain ``zssbir-cli train`` is a world of one process and touches none of this machinery.
Under ``torchrun`` (``WORLD_SIZE`` > 1) each process joins the group from the environment
variables torchrun sets, takes the GPU ``LOCAL_RANK`` (NCCL) or stays on the CPU (gloo), and
reads its own share of every epoch's batches; only rank 0 writes files and reports progress.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from zssbir_core.device import resolve_device


@dataclass(frozen=True)
class DistContext:
    """This process's place in the run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device_name: str) -> tuple[DistContext, torch.device]:
    """Join the process group when launched by torchrun; return the context and this process's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    device = resolve_device(device_name)
    if world_size <= 1:
        return DistContext(), device
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank), device


def any_rank(flag: bool, context: DistContext, device: torch.device) -> bool:
    """True on every process when ``flag`` is true on any (a stop request reaches them all)."""
    if not context.enabled:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def barrier(context: DistContext) -> None:
    """Wait for every process (no-op for one process)."""
    if context.enabled:
        dist.barrier()


def teardown(context: DistContext) -> None:
    """Leave the process group."""
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()
