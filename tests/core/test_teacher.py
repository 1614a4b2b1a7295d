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


def test_a_cache_folder_that_cannot_be_written_only_warns(dataset: FolderDataset, tmp_path: Path, caplog) -> None:
    """Issue 21 item 8: the cache write is optional. Here ``teacher`` cannot be created because a
    plain file holds its place (an OS failure that stops root too); the labels are still returned."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "teacher").write_text("not a folder")
    kwargs = dict(backbone="efficientnet_lite0", temperature=1.0, image_size=64, device=CPU, cache_dir=cache)
    with caplog.at_level("WARNING", logger="zssbir_core.teacher"):
        labels = teacher.class_soft_labels(dataset, **kwargs)
    assert labels.shape == (2, 1000) and torch.isfinite(labels).all()
    assert any("not cached" in record.getMessage() for record in caplog.records)


@pytest.mark.subprocess
@pytest.mark.slow
def test_a_read_only_or_full_cache_folder_only_warns(tmp_path: Path) -> None:
    """The cache folder on a read-only bind mount, then on a full tmpfs, in an ``unshare -rm`` child
    (real EROFS and ENOSPC; skipped where unprivileged namespaces are not allowed)."""
    import shutil
    import subprocess
    import sys

    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    make_dataset(tmp_path / "data", classes=2, photos=3, sketches=1)
    cache = tmp_path / "cache"
    (cache / "teacher").mkdir(parents=True)
    script = tmp_path / "child.py"
    script.write_text(
        "import sys, torch\n"
        "from pathlib import Path\n"
        "from zssbir_core import teacher\n"
        "from zssbir_core.data.folder import scan_folder_dataset\n"
        "labels = teacher.class_soft_labels(scan_folder_dataset(Path(sys.argv[1])), backbone='efficientnet_lite0',\n"
        "    temperature=1.0, image_size=64, device=torch.device('cpu'), cache_dir=Path(sys.argv[2]))\n"
        "print('LABELS', tuple(labels.shape))\n")
    repo = Path(__file__).resolve().parents[2]
    run = f"{sys.executable} {script} {tmp_path / 'data'} {cache}"
    setups = {"read-only": f"mount --bind -o ro {cache} {cache}",
              "full": f"mount -t tmpfs -o size=64k tmpfs {cache} && mkdir {cache}/teacher && "
                      f"(head -c 1m /dev/zero > {cache}/filler 2>/dev/null; true)"}
    for name, setup in setups.items():
        child = subprocess.run(["unshare", "-rm", "sh", "-c", f"{setup} && exec {run}"], capture_output=True, text=True,
                               timeout=300, env={**__import__("os").environ, "PYTHONPATH": str(repo)})
        if child.returncode != 0 and "mount" in child.stderr and "LABELS" not in child.stdout:
            if "Traceback" not in child.stderr:
                pytest.skip(f"mount namespaces are not allowed here: {child.stderr.strip()}")
        assert child.returncode == 0 and "LABELS (2, 1000)" in child.stdout, f"{name}: {child.stderr[-2000:]}"
        assert "not cached" in child.stderr, name
