"""The trainer's validation: which sketches query, and that it scores the network as
``evaluate_retrieval`` does (both go through ``embed_and_score``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.core.train_data import make_dataset
from zssbir_core.data.domains import PHOTO
from zssbir_core.data.folder import scan_folder_dataset
from zssbir_core.evaluation.evaluate import evaluate_retrieval
from zssbir_core.models.backbones import build_backbone
from zssbir_core.models.network import ZSSBIRNet
from zssbir_core.training.config import TrainConfig
from zssbir_core.training.setup import NetSetup, freeze_early_layers
from zssbir_core.training.validation import Validator, validation_queries


def test_the_queries_are_a_seeded_sample_of_each_class(tmp_path: Path) -> None:
    dataset = scan_folder_dataset(make_dataset(tmp_path / "data", classes=3, photos=2, sketches=5))
    picked = validation_queries(dataset, TrainConfig(val_sketches_per_class=2, seed=3))
    assert [s.label for s in picked] == [0, 0, 1, 1, 2, 2]
    assert picked == validation_queries(dataset, TrainConfig(val_sketches_per_class=2, seed=3))
    assert validation_queries(dataset, TrainConfig(val_sketches_per_class=None)) == dataset.sketches()
    photos_only = scan_folder_dataset(make_dataset(tmp_path / "photos", classes=2, photos=3, with_sketches=False))
    queries = validation_queries(photos_only, TrainConfig(val_sketches_per_class=2))
    assert len(queries) == 4 and all(s.domain == PHOTO for s in queries), "photos, drawn when embedded"


@pytest.mark.slow
def test_validation_scores_as_evaluation_and_keeps_frozen_norms_in_eval_mode(tmp_path: Path) -> None:
    dataset = scan_folder_dataset(make_dataset(tmp_path / "data", classes=3, photos=2, sketches=2))
    torch.manual_seed(0)
    net = ZSSBIRNet(build_backbone("efficientnet_lite0", pretrained=False), embedding_dim=16)
    preprocessing = net.backbone.preprocessing.with_size(32)
    frozen = freeze_early_layers(net.backbone.trunk, 0.5)
    net.train()
    for module in frozen:
        module.eval()
    validator = Validator(dataset, TrainConfig(val_sketches_per_class=None), torch.device("cpu"))
    metrics = validator(NetSetup(net, preprocessing, frozen, None, False))
    assert net.training and frozen and all(not module.training for module in frozen)
    assert metrics == pytest.approx(
        evaluate_retrieval(net, dataset, preprocessing=preprocessing, device="cpu"), abs=1e-6)
