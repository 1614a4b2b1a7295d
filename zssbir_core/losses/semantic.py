"""Semantic classification loss: cross-entropy of the class head over the training classes."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class SemanticClassificationLoss(nn.Module):
    """Cross-entropy between ``class_logits`` (N, C) and integer ``labels`` (N,), batch mean."""

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = label_smoothing

    def forward(self, class_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(class_logits, labels, label_smoothing=self.label_smoothing)
