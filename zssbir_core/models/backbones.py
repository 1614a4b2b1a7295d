"""ImageNet CNN backbones by name: pooled features, the kept ImageNet head, and preprocessing."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from zssbir_core.errors import ModelLoadError, WeightsUnavailableError
from zssbir_core.models import efficientnet_lite, resnet
from zssbir_core.models.backbone_names import BACKBONES
from zssbir_core.models.preprocessing import IMAGENET_MEAN, IMAGENET_STD, LITE_MEAN, LITE_STD, Preprocessing
from zssbir_core.models.safe_io import first_line, load_state_dict_file


class Backbone(nn.Module):
    """A CNN trunk that ends in global average pooling, with its ImageNet classifier kept aside."""

    def __init__(self, name: str, trunk: nn.Module, imagenet_head: nn.Linear, preprocessing: Preprocessing):
        super().__init__()
        self.name = name
        self.trunk = trunk
        self.imagenet_head = imagenet_head
        self.feature_dim = imagenet_head.in_features
        self.preprocessing = preprocessing

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) normalised images -> (N, feature_dim) pooled features."""
        return self.trunk(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits."""
        return self.imagenet_head(self.forward_features(x))


class _EfficientNetTrunk(nn.Module):
    def __init__(self, net: efficientnet_lite.EfficientNetLite):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward_features(x)


def _lite(variant: str, weights: str | Path | None, pretrained: bool) -> Backbone:
    net = efficientnet_lite.EfficientNetLite(variant)
    if pretrained:
        path = Path(weights) if weights is not None else efficientnet_lite.weights_path(variant)
        if not path.exists():
            raise WeightsUnavailableError(f"weights file not found: {path}")
        state = load_state_dict_file(path, f"an EfficientNet-{variant.capitalize()}")
        try:
            net.load_state_dict(state)
        except Exception as error:
            raise WeightsUnavailableError(
                f"{path} is not an EfficientNet-{variant.capitalize()} state dict: {first_line(error)}"
            ) from error
    head = net._fc
    del net._fc
    size = efficientnet_lite.NATIVE_SIZE[variant]
    return Backbone(f"efficientnet_{variant}", _EfficientNetTrunk(net), head, Preprocessing(size, LITE_MEAN, LITE_STD))


def _resnet50(weights: str | Path | None, pretrained: bool) -> Backbone:
    net = resnet.build_resnet50(weights, pretrained)
    head = net.fc
    net.fc = nn.Identity()
    return Backbone("resnet50", net, head, Preprocessing(224, IMAGENET_MEAN, IMAGENET_STD))


def build_backbone(name: str, *, weights: str | Path | None = None, pretrained: bool = True) -> Backbone:
    """The backbone ``name`` with ImageNet weights (from ``weights`` when given).

    ``pretrained=False`` gives random weights: for tests and for loading a checkpoint, whose file
    holds every weight anyway; never for a model a user searches with.
    """
    if name.startswith("efficientnet_lite") and name in BACKBONES:
        return _lite(name.removeprefix("efficientnet_"), weights, pretrained)
    if name == "resnet50":
        return _resnet50(weights, pretrained)
    raise ModelLoadError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
