"""Make a loaded network cheaper to run on the CPU without changing what it computes.

``prepare_for_inference`` is called once by ``load_model`` on a network in eval mode. It rewrites
the network in place, for inference only (training builds its own networks and never sees this):

* TF "same" padding computed once for the known input size: 1x1 convolutions get no padding,
  symmetric padding goes into the convolution itself, and only the stride-2 convolutions whose
  padding is asymmetric keep a constant pad in front (``StaticSameConv``). An input of another
  size still gets the right padding, computed on the fly.
* every BatchNorm that follows a convolution is folded into that convolution's weight and bias;
* the CPU micro-batch size: images per forward pass whose largest activation stays under glibc's
  mmap threshold, so that ``cpu_allocator``'s bounded setting reuses freed activations.

Both are exact up to float rounding (``tests/core/models/test_inference.py`` checks 1e-4 cosine on real
weights and real photos). Channels-last memory layout is left off on the CPU: no measurement so far
showed a consistent gain (``docs/benchmarks/cpu.md``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from zssbir_core.cpu_allocator import MMAP_THRESHOLD
from zssbir_core.models import efficientnet_lite
from zssbir_core.models.network import ZSSBIRNet


def same_padding(size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int]) -> list[int]:
    """TF "same" padding of an input of ``size`` (H, W) as F.pad's (left, right, top, bottom)."""
    pads: list[int] = []
    for length, k, s in zip(reversed(size), reversed(kernel), reversed(stride)):
        total = max((math.ceil(length / s) - 1) * s + k - length, 0)
        pads += [total // 2, total - total // 2]
    return pads


class StaticSameConv(nn.Conv2d):
    """A convolution whose TF "same" padding was worked out for one input size.

    Symmetric padding is the convolution's own ``padding``; asymmetric padding is a constant
    ``F.pad`` before it. Other input sizes are padded as ``Conv2dSame`` would pad them.
    """

    def __init__(self, conv: nn.Conv2d, input_size: tuple[int, int]):
        k, s = conv.kernel_size, conv.stride
        pads = same_padding(input_size, k, s)
        symmetric = pads[0] == pads[1] and pads[2] == pads[3]
        super().__init__(
            conv.in_channels, conv.out_channels, k, stride=s, groups=conv.groups, bias=conv.bias is not None,
            padding=(pads[2], pads[0]) if symmetric else 0,
            device=conv.weight.device, dtype=conv.weight.dtype,
        )
        self.input_size = tuple(input_size)
        self.pre_pad = None if symmetric else pads
        self.train(conv.training)
        with torch.no_grad():
            self.weight.copy_(conv.weight)
            if conv.bias is not None:
                self.bias.copy_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.input_size:
            pads = same_padding(tuple(x.shape[-2:]), self.kernel_size, self.stride)
            return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, 1, self.groups)
        if self.pre_pad is not None:
            x = F.pad(x, self.pre_pad)
        return super().forward(x)


def _dry_run(net: nn.Module, image_size: int, convs: list[nn.Module]) -> tuple[dict[nn.Module, tuple[int, int]], int]:
    """One image of ``image_size`` through ``net``: the spatial size each of ``convs`` sees, and
    the bytes of the largest output any module produces."""
    sizes: dict[nn.Module, tuple[int, int]] = {}
    largest = 0

    def record_input(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        sizes.setdefault(module, tuple(args[0].shape[-2:]))

    def record_output(module: nn.Module, args: tuple[torch.Tensor, ...], output: object) -> None:
        nonlocal largest
        if isinstance(output, torch.Tensor):
            largest = max(largest, output.numel() * output.element_size())

    hooks = [conv.register_forward_pre_hook(record_input) for conv in convs]
    hooks += [m.register_forward_hook(record_output) for m in net.modules() if not list(m.children())]
    parameter = next(net.parameters())
    try:
        with torch.inference_mode():
            net(torch.zeros(1, 3, image_size, image_size, device=parameter.device, dtype=parameter.dtype))
    finally:
        for hook in hooks:
            hook.remove()
    return sizes, largest


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    folded = fuse_conv_bn_eval(conv, bn)
    folded.weight.requires_grad_(False)
    folded.bias.requires_grad_(False)
    return folded


# (convolution, BatchNorm after it) attribute pairs in each kind of module.
_LITE_PAIRS = {
    efficientnet_lite.EfficientNetLite: (("_conv_stem", "_bn0"), ("_conv_head", "_bn1")),
    efficientnet_lite.MBConvBlock: (("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2")),
}


def _fold_module_pairs(module: nn.Module, pairs: tuple[tuple[str, str], ...]) -> None:
    for conv_name, bn_name in pairs:
        conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
            setattr(module, conv_name, _fold(conv, bn))
            setattr(module, bn_name, nn.Identity())


def fold_batchnorm(net: nn.Module) -> int:
    """Fold each BatchNorm that follows a convolution (EfficientNet-Lite and torchvision ResNet
    layouts) into it; returns how many were folded. ``net`` must be in eval mode."""
    if net.training:
        raise ValueError("BatchNorm can only be folded into an eval-mode network")
    before = sum(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    for module in list(net.modules()):
        for kind, pairs in _LITE_PAIRS.items():
            if isinstance(module, kind):
                _fold_module_pairs(module, pairs)
        if hasattr(module, "conv1") and hasattr(module, "bn1"):  # torchvision ResNet stem and blocks
            _fold_module_pairs(module, (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3")))
        downsample = getattr(module, "downsample", None)
        if isinstance(downsample, nn.Sequential) and len(downsample) == 2 and isinstance(downsample[1], nn.BatchNorm2d):
            module.downsample = nn.Sequential(_fold(downsample[0], downsample[1]))
    return before - sum(isinstance(m, nn.BatchNorm2d) for m in net.modules())


def make_padding_static(net: nn.Module, image_size: int) -> int:
    """Replace every ``Conv2dSame`` with a ``StaticSameConv`` for ``image_size`` inputs and return
    the bytes of the largest activation of one image (one dry run)."""
    convs = [m for m in net.modules() if type(m) is efficientnet_lite.Conv2dSame]
    sizes, largest = _dry_run(net, image_size, convs)
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if child in sizes:
                setattr(parent, name, StaticSameConv(child, sizes[child]))
    return largest


def micro_batch_size(largest_activation_bytes: int) -> int:
    """Images per forward pass that keep every activation under glibc's mmap threshold (with a
    quarter to spare), so freed activations are reused from the heap (``cpu_allocator``)."""
    return max(1, (MMAP_THRESHOLD * 3 // 4) // max(1, largest_activation_bytes))


def prepare_for_inference(net: ZSSBIRNet, image_size: int) -> tuple[ZSSBIRNet, int]:
    """Static padding for ``image_size`` and BatchNorm folded into the convolutions (in place);
    returns the network and its CPU micro-batch size."""
    net.eval()
    largest = make_padding_static(net, image_size)
    fold_batchnorm(net)
    return net, micro_batch_size(largest)
