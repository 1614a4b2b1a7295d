"""embed_samples / evaluate_retrieval with a bare network and with an Embedder."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from zssbir_core.data.folder import scan_folder_dataset
from zssbir_core.errors import DatasetError
from zssbir_core.evaluation.evaluate import embed_samples, evaluate_retrieval
from zssbir_core.models.backbones import build_backbone
from zssbir_core.models.network import ZSSBIRNet
from zssbir_core.models.registry import load_model


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for label, colour in enumerate([(220, 20, 20), (20, 20, 220)]):
        for i in range(2):
            for domain in ("photo", "sketch"):
                path = root / domain / f"class{label}" / f"{i}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                shade = tuple(min(255, c + 15 * i) for c in colour)
                Image.new("RGB", (40, 40), shade if domain == "photo" else (255, 255, 255)).save(path)
    return scan_folder_dataset(root)


@pytest.mark.slow
def test_bare_network_keeps_its_training_mode(dataset):
    net = ZSSBIRNet(build_backbone("efficientnet_lite0", pretrained=False), embedding_dim=16)
    net.train()
    preprocessing = net.backbone.preprocessing.with_size(32)
    vectors = embed_samples(net, dataset.photos(), preprocessing, device="cpu", batch_size=3)
    assert net.training
    assert vectors.shape == (4, 16) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    counted: list[int] = []
    metrics = evaluate_retrieval(net, dataset, preprocessing=preprocessing, device="cpu", progress=counted.append)
    assert set(metrics) == {"map_all", "map_200", "p_100", "p_200", "p_10"}
    assert sum(counted) == len(dataset.samples)


@pytest.mark.slow
def test_embedder_and_its_network_agree(dataset):
    embedder = load_model("lite0-imagenet", image_size=32)
    through_embedder = embed_samples(embedder, dataset.samples, embedder.preprocessing, device="cpu", batch_size=5)
    through_net = embed_samples(embedder.net, dataset.samples, embedder.preprocessing, device="cpu", batch_size=2)
    np.testing.assert_allclose(through_embedder, through_net, atol=1e-5)


def test_photos_only_cannot_be_evaluated(dataset):
    photos_only = type(dataset)(dataset.root, dataset.classes, dataset.photos(), [])
    embedder = load_model("lite0-imagenet", image_size=32)
    with pytest.raises(DatasetError, match="no sketches"):
        evaluate_retrieval(embedder, photos_only, preprocessing=embedder.preprocessing, device="cpu")
