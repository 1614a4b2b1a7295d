"""The model catalog: one list of built-in models that every command and menu is made from."""

from __future__ import annotations

import subprocess
import sys

import pytest

from zssbir_core.errors import ModelLoadError
from zssbir_core.models import catalog
from zssbir_core.models.backbone_names import BACKBONES


@pytest.mark.subprocess
def test_importing_the_catalog_loads_no_torch() -> None:
    code = (
        "import sys; import zssbir_core.models.catalog as c; c.model_choices(include_stored=False); "
        "c.builtin('default'); print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_default_alias_names_the_default_model() -> None:
    assert catalog.builtin("default") is catalog.builtin(catalog.DEFAULT_MODEL)
    assert catalog.resolve_alias("default") == catalog.DEFAULT_MODEL
    assert catalog.resolve_alias("lite1-imagenet") == "lite1-imagenet"
    assert catalog.builtin("no-such-model") is None


def test_ids_are_unique_and_backbones_known() -> None:
    assert len(set(catalog.BUILTIN_IDS)) == len(catalog.BUILTIN_IDS)
    assert catalog.DEFAULT_MODEL in catalog.BUILTIN_IDS
    for model in catalog.BUILTIN_MODELS:
        assert model.backbone in BACKBONES
        assert model.source in ("packaged", "pip", "download")


def test_default_model_is_first_in_menus_and_works_offline() -> None:
    choices = catalog.model_choices(include_stored=False)
    assert [c.spec for c in choices][0] == catalog.DEFAULT_MODEL
    assert {c.spec for c in choices} == set(catalog.BUILTIN_IDS)
    default = catalog.builtin("default")
    assert default is not None and default.source != "download"
    assert catalog.weights_available(default)


def test_backbone_of_builtin_checkpoint_and_unknown(tmp_path) -> None:
    from zssbir_core.models import ZSSBIRNet, build_backbone, save_checkpoint

    assert catalog.backbone_of("resnet50-imagenet") == "resnet50"
    assert catalog.backbone_of("lite2-imagenet") == "efficientnet_lite2"
    net = ZSSBIRNet(build_backbone("efficientnet_lite0", pretrained=False), 8, 3)
    save_checkpoint(net, tmp_path / "run" / "model", classes=["a", "b", "c"])
    assert catalog.backbone_of(tmp_path / "run") == "efficientnet_lite0"  # a training run's folder
    with pytest.raises(ModelLoadError, match="unknown model 'nope'.*default"):
        catalog.backbone_of("nope")


@pytest.mark.parametrize("model_id", ["lite1-imagenet", "lite2-imagenet"])
def test_new_lite_models_load_their_imagenet_weights_and_classify(model_id: str, sketchy_root) -> None:
    """Lite1 and Lite2 come in through the catalog alone; real weights classify real photos."""
    import torch
    from PIL import Image

    from zssbir_core.models import load_model

    embedder = load_model(model_id)
    assert embedder.model_id == model_id and embedder.embedding_dim == 1280
    transform = embedder.preprocessing.transform()
    zebras = sorted((sketchy_root / "photo" / "zebra").glob("*.jpg"))[:2]
    batch = torch.stack([torch.from_numpy(transform(Image.open(p).convert("RGB"))) for p in zebras])
    with torch.inference_mode():
        logits = embedder.net.backbone(batch)
    assert logits.argmax(1).tolist() == [340, 340]  # ImageNet class 340: zebra


def test_flip_average_is_mirror_invariant(sketchy_root) -> None:
    from PIL import Image, ImageOps

    from zssbir_core.models import load_model

    embedder = load_model("lite0-imagenet", image_size=96)
    photo = Image.open(next((sketchy_root / "photo" / "zebra").glob("*.jpg"))).convert("RGB")
    plain = embedder.embed_images([photo, ImageOps.mirror(photo)])
    assert float(plain[0] @ plain[1]) < 0.999
    embedder.flip_average = True
    both = embedder.embed_images([photo, ImageOps.mirror(photo)])
    assert float(both[0] @ both[1]) == pytest.approx(1.0, abs=1e-5)
