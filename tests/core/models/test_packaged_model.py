"""The default model that ships inside the package: the files the model card describes."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from tests.conftest import REPO_ROOT
from zssbir_core.models import catalog
from zssbir_core.training.config import load_recipe, recipe_names

CARD = REPO_ROOT / "docs" / "model-card.md"


PACKAGED_FILES = ("model.safetensors", "model.json", "model.onnx", "model.onnx.json")
# The content hash each released packaged id stands for. Never change a line: new weights get a new
# id, or libraries indexed under the old id would mix two models' vectors.
RELEASED = {
    "sketch-lite1-v1": "21ab00924eea28b02a523670db0c9c3b496d67cc56498aefe82c380038941b25",
    "sketch-lite1-v2": "d49e5e1069b861cbfaf18ede71a054ec486eb6bb2819634b150e08c24399b649",
    "sketch-lite1-v3": "3a9029e47d8adcf311e37cd891e6fddac33d33488ac221317e1248d5ffd59ae4",
    "sketch-lite2-v4": "eba8c9ec35cfce71b4267c2ab45d3e385362592841d1ed9d79e717727e0193f5",
}


def test_packaged_files_match_the_hashes_in_the_model_card() -> None:
    model = catalog.builtin("default")
    assert model is not None and model.source == "packaged" and model.trained_for_sketches
    card = CARD.read_text(encoding="utf-8")
    assert f"`{model.id}`" in card
    packaged = [m for m in catalog.BUILTIN_MODELS if m.source == "packaged"]
    for name in PACKAGED_FILES:
        documented = re.findall(rf"sha256 `{re.escape(name)}` \| `([0-9a-f]{{64}})`", card)
        actual = [hashlib.sha256((m.checkpoint_dir / name).read_bytes()).hexdigest() for m in packaged]
        assert sorted(actual) == sorted(documented), f"{name} does not match docs/model-card.md"


def test_packaged_ids_keep_the_content_they_were_released_with() -> None:
    for model in catalog.BUILTIN_MODELS:
        if model.source != "packaged":
            assert not model.content_hash
            continue
        assert model.content_hash == RELEASED.get(model.id, model.content_hash), f"{model.id} changed content"
        assert model.content_hash not in {h for i, h in RELEASED.items() if i != model.id}, "two ids, one model"
        meta = json.loads((model.checkpoint_dir / "model.json").read_text())
        assert meta["content_hash"] == model.content_hash


def test_a_packaged_folder_with_other_content_is_refused(tmp_path, monkeypatch) -> None:
    import shutil

    from zssbir_core.errors import ModelLoadError
    from zssbir_core.models import load_model

    # the v1 checkpoint standing where the default should be: same name, other weights
    fake = tmp_path / "packaged"
    shutil.copytree(catalog.builtin("sketch-lite1-v1").checkpoint_dir, fake / catalog.DEFAULT_MODEL)
    monkeypatch.setattr(catalog.BuiltinModel, "checkpoint_dir",
                        property(lambda self: fake / self.id if self.source == "packaged" else None))
    with pytest.raises(ModelLoadError, match="not the one this zssbir was released with"):
        load_model("default")


def test_packaged_model_is_small_and_loads_as_the_default() -> None:
    from zssbir_core.models import load_model

    model = catalog.builtin("default")
    size = sum(f.stat().st_size for f in model.checkpoint_dir.iterdir())
    assert size <= 40 * 1024 * 1024  # float16 weights 13.8 MB + ONNX with float16 weights 11.1 MB
    meta = json.loads((model.checkpoint_dir / "model.json").read_text())
    assert meta["backbone"] == model.backbone and len(meta["classes"]) == 100
    embedder = load_model("default")
    assert embedder.model_id == model.id and embedder.embedding_dim == 512


def test_fine_tuning_recipes_start_from_the_default_model_at_its_own_input_size() -> None:
    default = catalog.builtin("default")
    for name in recipe_names():
        recipe = load_recipe(name)
        init = catalog.builtin(recipe.init) if recipe.init is not None else None
        if init is not None and init.checkpoint_dir is not None:
            assert init.backbone == recipe.backbone, name
            size = json.loads((init.checkpoint_dir / "model.json").read_text())["preprocessing"]["image_size"]
            assert recipe.image_size == size, f"recipe {name} trains at {recipe.image_size} px, {init.id} runs at {size}"
    for name in ("quick", "standard", "thorough"):
        assert load_recipe(name).init == "default" and load_recipe(name).backbone == default.backbone


def test_the_previous_default_model_still_loads_for_libraries_indexed_with_it() -> None:
    from zssbir_core.models import load_model

    previous = catalog.builtin("sketch-lite1-v1")
    assert previous is not None and previous.id != catalog.DEFAULT_MODEL and catalog.weights_available(previous)
    embedder = load_model(previous.id)
    assert embedder.model_id == previous.id and embedder.preprocessing.image_size == 160
