"""The default model that ships inside the package: the files the model card describes."""

from __future__ import annotations

import hashlib
import json
import re

from tests.conftest import REPO_ROOT
from zssbir_core.models import catalog
from zssbir_core.training.config import load_recipe, recipe_names

CARD = REPO_ROOT / "docs" / "model-card.md"


def test_packaged_files_match_the_hashes_in_the_model_card() -> None:
    model = catalog.builtin("default")
    assert model is not None and model.source == "packaged" and model.trained_for_sketches
    card = CARD.read_text(encoding="utf-8")
    assert f"`{model.id}`" in card
    for name in ("model.safetensors", "model.json"):
        (documented,) = re.findall(rf"sha256 `{re.escape(name)}` \| `([0-9a-f]{{64}})`", card)
        actual = hashlib.sha256((model.checkpoint_dir / name).read_bytes()).hexdigest()
        assert actual == documented, f"{name} does not match docs/model-card.md"


def test_packaged_model_is_small_and_loads_as_the_default() -> None:
    from zssbir_core.models import load_model

    model = catalog.builtin("default")
    size = sum(f.stat().st_size for f in model.checkpoint_dir.iterdir())
    assert size <= 30 * 1024 * 1024
    meta = json.loads((model.checkpoint_dir / "model.json").read_text())
    assert meta["backbone"] == model.backbone and len(meta["classes"]) == 100
    embedder = load_model("default")
    assert embedder.model_id == model.id and embedder.embedding_dim == 512


def test_fine_tuning_recipes_start_from_the_default_model() -> None:
    default = catalog.builtin("default")
    for name in recipe_names():
        recipe = load_recipe(name)
        if recipe.init is not None and catalog.builtin(recipe.init) is not None:
            assert catalog.builtin(recipe.init).backbone == recipe.backbone, name
    assert load_recipe("quick").init == "default" and load_recipe("quick").backbone == default.backbone


def test_the_previous_default_model_still_loads_for_libraries_indexed_with_it() -> None:
    from zssbir_core.models import load_model

    previous = catalog.builtin("sketch-lite1-v1")
    assert previous is not None and previous.id != catalog.DEFAULT_MODEL and catalog.weights_available(previous)
    embedder = load_model(previous.id)
    assert embedder.model_id == previous.id and embedder.preprocessing.image_size == 160
