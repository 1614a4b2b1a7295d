"""Backbones with real weights, the network's outputs, checkpoints and model loading."""

import json

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from safetensors.torch import save_file
from torchvision.models import ResNet50_Weights

from zssbir_core.errors import ModelLoadError, WeightsUnavailableError
from zssbir_core.models import (
    ZSSBIRNet,
    build_backbone,
    is_checkpoint_dir,
    load_checkpoint,
    load_model,
    read_checkpoint_info,
    save_checkpoint,
)
from zssbir_core.models.efficientnet_lite import Conv2dSame


@pytest.fixture(scope="module")
def lite0():
    return build_backbone("efficientnet_lite0").eval()


def test_tf_same_padding_matches_tensorflow_output_sizes():
    conv = Conv2dSame(1, 1, 3, stride=2)
    for size, expected in [(224, 112), (225, 113), (7, 4), (8, 4)]:
        assert conv(torch.zeros(1, 1, size, size)).shape[-1] == expected


@pytest.mark.parametrize("cls", ["zebra", "tiger"])
def test_lite0_real_weights_recognise_real_photos(lite0, sketchy_root, cls):
    categories = ResNet50_Weights.IMAGENET1K_V1.meta["categories"]
    files = sorted((sketchy_root / "photo" / cls).glob("*.jpg"))[:4]
    transform = lite0.preprocessing.transform()
    batch = torch.stack([torch.from_numpy(transform(Image.open(f).convert("RGB"))) for f in files])
    with torch.no_grad():
        top = lite0(batch).argmax(1)
    hits = sum(categories[i] == cls for i in top.tolist())
    assert hits >= 3, [categories[i] for i in top.tolist()]


def test_network_outputs_have_the_promised_shapes(lite0):
    net = ZSSBIRNet(lite0, embedding_dim=32, num_classes=5).eval()
    with torch.no_grad():
        out = net(torch.randn(3, 3, 64, 64))
    assert out.embedding.shape == (3, 32)
    assert torch.allclose(out.embedding.norm(dim=1), torch.ones(3), atol=1e-5)
    assert out.class_logits.shape == (3, 5)
    assert out.imagenet_logits.shape == (3, 1000)


def test_raw_feature_network_keeps_imagenet_predictions(lite0):
    net = ZSSBIRNet(lite0, embedding_dim=None).eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        out = net(x)
        assert out.class_logits is None
        assert out.embedding.shape == (2, 1280)
        assert torch.allclose(out.imagenet_logits, lite0(x), atol=1e-5)


def test_checkpoint_round_trip_gives_identical_embeddings(tmp_path):
    net = ZSSBIRNet(build_backbone("efficientnet_lite0", pretrained=False), 16, num_classes=3).eval()
    directory = save_checkpoint(net, tmp_path / "ckpt", classes=["a", "b", "c"], metrics={"map_all": 0.5})
    assert is_checkpoint_dir(directory)
    loaded, info = load_checkpoint(directory)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(net.encode(x), loaded.encode(x), atol=1e-6)
    assert info.classes == ["a", "b", "c"] and info.metrics["map_all"] == 0.5
    assert info.model_id.startswith("ckpt-") and len(info.model_id) == 17
    # Saving again over it is atomic and leaves no temporary directories.
    save_checkpoint(net, directory, classes=["a", "b", "c"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_damaged_checkpoint_is_refused_with_a_message(tmp_path):
    net = ZSSBIRNet(build_backbone("efficientnet_lite0", pretrained=False), 8)
    directory = save_checkpoint(net, tmp_path / "ckpt", classes=[])
    weights = directory / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="damaged"):
        load_checkpoint(directory)


def test_checkpoint_with_foreign_json_is_refused(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"")
    (tmp_path / "model.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ModelLoadError, match="not a valid checkpoint"):
        read_checkpoint_info(tmp_path)


def test_checkpoint_whose_weights_do_not_match_its_description(tmp_path):
    net = ZSSBIRNet(build_backbone("efficientnet_lite0", pretrained=False), 8)
    directory = save_checkpoint(net, tmp_path / "ckpt", classes=[])
    save_file({"x": torch.zeros(1)}, str(directory / "model.safetensors"))
    meta = json.loads((directory / "model.json").read_text())
    from zssbir_core.models.model_json import content_hash

    meta["content_hash"] = content_hash(meta, (directory / "model.safetensors").read_bytes())
    (directory / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="does not match"):
        load_checkpoint(directory)


@pytest.mark.slow
def test_resnet50_from_a_local_weights_file(tmp_path):
    reference = torchvision.models.resnet50(weights=None).eval()
    path = tmp_path / "r50.pth"
    torch.save(reference.state_dict(), path)
    backbone = build_backbone("resnet50", weights=path).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(backbone(x), reference(x), atol=1e-5)
    assert backbone.feature_dim == 2048
    net = ZSSBIRNet(backbone, 64, 4)
    assert net(x).embedding.shape == (1, 64)


def test_resnet50_refuses_a_file_of_another_network(tmp_path):
    path = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(WeightsUnavailableError, match="not a ResNet50"):
        build_backbone("resnet50", weights=path)


def test_missing_weights_file_is_named(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="not found"):
        build_backbone("efficientnet_lite0", weights=tmp_path / "nope.pth")


def test_load_model_builtin_embeds_images_as_unit_rows():
    embedder = load_model("lite0-imagenet", image_size=64)
    assert embedder.model_id == "lite0-imagenet@64"
    vectors = embedder.embed_images([Image.new("RGB", (80, 50), "white"), Image.new("L", (30, 30))])
    assert vectors.shape == (2, 1280) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_images([]).shape == (0, 1280)


def test_load_model_from_checkpoint_directory(tmp_path):
    net = ZSSBIRNet(build_backbone("efficientnet_lite0", pretrained=False), 24)
    directory = save_checkpoint(net, tmp_path / "mine", classes=["x"])
    embedder = load_model(directory)
    assert embedder.embedding_dim == 24
    assert embedder.model_id == read_checkpoint_info(directory).model_id
    assert embedder.name == "mine"


def test_load_model_from_a_training_output_folder(tmp_path):
    # ``zssbir-cli eval --model RUN`` where RUN is what ``train --output RUN`` wrote.
    net = ZSSBIRNet(build_backbone("efficientnet_lite0", pretrained=False), 24)
    checkpoint = save_checkpoint(net, tmp_path / "run" / "model", classes=["x"])
    (tmp_path / "run" / "summary.json").write_text("{}")
    embedder = load_model(tmp_path / "run")
    assert embedder.model_id == read_checkpoint_info(checkpoint).model_id
    assert embedder.name == "run"


@pytest.mark.parametrize("spec", ["resnet18-imagenet", "/no/such/dir"])
def test_unknown_model_lists_the_choices(spec):
    with pytest.raises(ModelLoadError, match="lite0-imagenet"):
        load_model(spec)
