"""The ZS-SBIR network: one backbone for sketches and photos, an embedding head, a semantic
classifier over the training classes and the ImageNet head kept from the pretrained network."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from zssbir_core.models.backbones import Backbone


class NetOutput(NamedTuple):
    """``embedding`` is L2-normalised; ``class_logits`` is None when there is no classifier."""

    embedding: torch.Tensor
    class_logits: torch.Tensor | None
    imagenet_logits: torch.Tensor


class ZSSBIRNet(nn.Module):
    """Backbone -> (linear embedding head | identity) -> L2 normalisation.

    With ``embedding_dim=None`` the embedding is the backbone's pooled ImageNet feature itself: the
    untrained baseline models ``lite0-imagenet`` and ``resnet50-imagenet``.
    """

    def __init__(self, backbone: Backbone, embedding_dim: int | None = 512, num_classes: int = 0):
        super().__init__()
        self.backbone = backbone
        self.embedding_dim = embedding_dim or backbone.feature_dim
        self.has_projection = embedding_dim is not None
        self.embedding = nn.Linear(backbone.feature_dim, embedding_dim) if embedding_dim else nn.Identity()
        self.num_classes = 0
        self.classifier: nn.Linear | None = None
        self.set_num_classes(num_classes)

    def set_num_classes(self, num_classes: int) -> None:
        """Replace the semantic classifier with a fresh one over ``num_classes`` classes (0: none)."""
        self.num_classes = int(num_classes)
        self.classifier = nn.Linear(self.embedding_dim, num_classes) if num_classes else None

    def forward(self, x: torch.Tensor) -> NetOutput:
        features = self.backbone.forward_features(x)
        projected = self.embedding(features)
        class_logits = self.classifier(projected) if self.classifier is not None else None
        return NetOutput(F.normalize(projected, dim=1), class_logits, self.backbone.imagenet_head(features))

    def encode(self, x: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """The vector that is indexed and searched."""
        projected = self.embedding(self.backbone.forward_features(x))
        return F.normalize(projected, dim=1) if normalize else projected
