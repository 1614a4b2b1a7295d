"""Class soft labels of the frozen ImageNet teacher: values, caching, and the errors they can raise."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.core.train_data import make_dataset
from zssbir_core import teacher
from zssbir_core.data.folder import FolderDataset, scan_folder_dataset
from zssbir_core.errors import DatasetError
from zssbir_core.imageio import open_image
from zssbir_core.models import build_backbone

CPU = torch.device("cpu")


@pytest.fixture
def dataset(tmp_path: Path) -> FolderDataset:
    return scan_folder_dataset(make_dataset(tmp_path / "data", classes=2, photos=3, sketches=1))


def test_soft_label_is_the_mean_of_the_photos_softened_predictions(dataset: FolderDataset, tmp_path: Path) -> None:
    labels = teacher.class_soft_labels(dataset, backbone="efficientnet_lite0", temperature=2.0, image_size=64,
                                       device=CPU, cache_dir=tmp_path / "cache")
    assert labels.shape == (2, 1000)
    assert torch.allclose(labels.sum(dim=1), torch.ones(2), atol=1e-5)

    net = build_backbone("efficientnet_lite0").eval()
    transform = net.preprocessing.with_size(64).transform()
    photos = [s for s in dataset.photos() if s.label == 1]
    with torch.inference_mode():
        logits = net(torch.stack([torch.from_numpy(transform(open_image(s.path))) for s in photos]))
    expected = torch.softmax(logits / 2.0, dim=1).mean(dim=0)
    assert torch.allclose(labels[1], expected, atol=1e-5)


def test_soft_labels_are_cached_by_dataset_and_settings(
    dataset: FolderDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    first = teacher.class_soft_labels(dataset, backbone="efficientnet_lite0", temperature=1.0, image_size=64,
                                      device=CPU, cache_dir=cache)
    assert len(list((cache / "teacher").glob("*.safetensors"))) == 1

    def no_teacher(*args: object, **kwargs: object) -> torch.Tensor:
        raise AssertionError("the cached labels should have been used")

    monkeypatch.setattr(teacher, "compute_class_soft_labels", no_teacher)
    again = teacher.class_soft_labels(dataset, backbone="efficientnet_lite0", temperature=1.0, image_size=64,
                                      device=CPU, cache_dir=cache)
    assert torch.equal(first, again)
    with pytest.raises(AssertionError, match="cached"):  # another temperature is another cache entry
        teacher.class_soft_labels(dataset, backbone="efficientnet_lite0", temperature=3.0, image_size=64,
                                  device=CPU, cache_dir=cache)
    with pytest.raises(AssertionError, match="cached"):  # so is another class list
        teacher.class_soft_labels(dataset.subset(["square"]), backbone="efficientnet_lite0", temperature=1.0,
                                  image_size=64, device=CPU, cache_dir=cache)


def test_damaged_cache_file_is_rebuilt(dataset: FolderDataset, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    kwargs = dict(backbone="efficientnet_lite0", temperature=1.0, image_size=64, device=CPU, cache_dir=cache)
    first = teacher.class_soft_labels(dataset, **kwargs)
    (path,) = (cache / "teacher").glob("*.safetensors")
    path.write_bytes(b"garbage")
    assert torch.allclose(teacher.class_soft_labels(dataset, **kwargs), first)


def test_class_without_photos_is_refused(dataset: FolderDataset, tmp_path: Path) -> None:
    sketches_only = FolderDataset(dataset.root, ["circle", "square"], [s for s in dataset.samples if s.label == 0]
                                  + dataset.sketches(), [])
    with pytest.raises(DatasetError, match="square"):
        teacher.compute_class_soft_labels(sketches_only, backbone="efficientnet_lite0", temperature=1.0,
                                          image_size=64, device=CPU)
