"""Semantic knowledge preservation: keep the ImageNet head close to the frozen teacher's soft labels."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class KnowledgePreservationLoss(nn.Module):
    """``KL(soft_targets || softmax(imagenet_logits / T)) * T**2``, averaged over the batch.

    ``soft_targets`` (N, 1000) are probability rows (the class-level soft labels of the frozen
    ImageNet network, already softened with the same temperature); zero entries contribute zero.
    The ``T**2`` factor keeps gradient magnitudes independent of the temperature (Hinton et al.).
    """

    def __init__(self, temperature: float) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = temperature

    def forward(self, imagenet_logits: torch.Tensor, soft_targets: torch.Tensor) -> torch.Tensor:
        if imagenet_logits.shape != soft_targets.shape:
            raise ValueError(
                f"logits {tuple(imagenet_logits.shape)} and soft targets "
                f"{tuple(soft_targets.shape)} differ in shape"
            )
        log_student = F.log_softmax(imagenet_logits.float() / self.temperature, dim=1)
        kl = F.kl_div(log_student, soft_targets.float(), reduction="batchmean")
        return kl * self.temperature**2
