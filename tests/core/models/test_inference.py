"""Inference preparation (static padding, folded BatchNorm, CPU micro-batches) changes no embedding:
real ImageNet weights, real photos, through ``load_model`` as the app and CLI load models."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from zssbir_core.models import ZSSBIRNet, build_backbone, load_model, save_checkpoint
from zssbir_core.models.efficientnet_lite import Conv2dSame
from zssbir_core.models.inference import StaticSameConv, fold_batchnorm, prepare_for_inference

TOLERANCE = 1e-4  # 1 - cosine similarity


@pytest.fixture(scope="module")
def photos(sketchy_root) -> list[Image.Image]:
    files = sorted((sketchy_root / "photo").glob("*/*.jpg"))[::10][:7]
    return [Image.open(f).convert("RGB") for f in files]


def naive_embeddings(net: ZSSBIRNet, batch: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return net.eval().encode(batch).numpy()


def assert_same_directions(a: np.ndarray, b: np.ndarray) -> None:
    cosines = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert 1 - cosines.min() < TOLERANCE, cosines


@pytest.mark.slow
@pytest.mark.parametrize("backbone", ["efficientnet_lite0", "efficientnet_lite1"])
def test_prepared_lite_embeds_real_photos_as_the_eager_network(backbone, photos):
    net = ZSSBIRNet(build_backbone(backbone), embedding_dim=None).eval()
    transform = net.backbone.preprocessing.transform()
    batch = torch.stack([torch.from_numpy(transform(p)) for p in photos])
    expected = naive_embeddings(net, batch)
    fast, micro_batch = prepare_for_inference(copy.deepcopy(net), net.backbone.preprocessing.image_size)
    assert not any(isinstance(m, (nn.BatchNorm2d, Conv2dSame)) and type(m) is not StaticSameConv
                   for m in fast.modules())
    one_by_one = [m for m in fast.modules() if isinstance(m, StaticSameConv) and m.kernel_size == (1, 1)]
    assert one_by_one and all(m.padding == (0, 0) and m.pre_pad is None for m in one_by_one)
    assert 1 <= micro_batch < len(photos)  # the batch goes through in several micro-batches
    assert_same_directions(naive_embeddings(fast, batch), expected)
    # another input size than the one prepared for is still padded the TF way
    small = torch.nn.functional.interpolate(batch, size=150)
    assert_same_directions(naive_embeddings(fast, small), naive_embeddings(net, small))


def test_load_model_of_a_checkpoint_embeds_as_the_eager_network(tmp_path, photos):
    torch.manual_seed(0)
    net = ZSSBIRNet(build_backbone("efficientnet_lite0"), embedding_dim=64, num_classes=3).eval()
    save_checkpoint(net, tmp_path / "model", classes=["a", "b", "c"])
    embedder = load_model(tmp_path / "model")
    assert embedder.micro_batch < len(photos)
    transform = embedder.preprocessing.transform()
    expected = naive_embeddings(net, torch.stack([torch.from_numpy(transform(p)) for p in photos]))
    assert_same_directions(embedder.embed_images(photos), expected)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in embedder.net.modules())


def test_builtin_lite0_through_load_model(photos):
    embedder = load_model("lite0-imagenet")
    net = ZSSBIRNet(build_backbone("efficientnet_lite0"), embedding_dim=None)
    transform = embedder.preprocessing.transform()
    assert_same_directions(embedder.embed_images(photos), naive_embeddings(net, torch.stack([torch.from_numpy(transform(p)) for p in photos])))
    assert_same_directions(embedder.embed_images(photos[:1]), embedder.embed_images(photos)[:1])


@pytest.mark.slow
def test_resnet50_batchnorm_folding_keeps_embeddings(photos):
    # ResNet50's ImageNet weights cannot be downloaded here; give every BatchNorm real-looking
    # statistics so that folding has something to fold.
    torch.manual_seed(0)
    net = ZSSBIRNet(build_backbone("resnet50", pretrained=False), embedding_dim=None).eval()
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.2)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.normal_(0, 0.2)
    transform = net.backbone.preprocessing.transform()
    batch = torch.stack([torch.from_numpy(transform(p)) for p in photos])
    expected = naive_embeddings(net, batch)
    fast, _ = prepare_for_inference(copy.deepcopy(net), 224)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    assert_same_directions(naive_embeddings(fast, batch), expected)


def test_training_networks_are_left_as_built():
    backbone = build_backbone("efficientnet_lite0", pretrained=False)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in backbone.modules()) == 49
    with pytest.raises(ValueError, match="eval"):
        fold_batchnorm(backbone.train())
