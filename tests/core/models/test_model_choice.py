"""One owner per model decision: the ``name@size`` id, which model a library is searched with (the
CLI and the app both ask ``model_for_library``), which models download their weights, and the
recipes a fine-tune offers."""

from __future__ import annotations

from pathlib import Path

import pytest

from zssbir_core import api
from zssbir_core.errors import LibraryError
from zssbir_core.library import PhotoLibrary
from zssbir_core.models import catalog
from zssbir_core.models.model_id import ModelId
from zssbir_core.models.weights import ensure_weights, needs_download
from zssbir_core.training.config import recipe_names


def test_a_model_id_is_built_and_parsed_in_one_place() -> None:
    assert str(ModelId("lite0-imagenet")) == "lite0-imagenet"
    assert str(ModelId("lite0-imagenet", 96)) == "lite0-imagenet@96"
    assert ModelId.parse("lite0-imagenet@96") == ModelId("lite0-imagenet", 96)
    assert ModelId.parse("ckpt-0123abcd") == ModelId("ckpt-0123abcd", None)
    assert ModelId.parse("odd@name") == ModelId("odd", None)  # no number after @: no size
    for text in ("sketch-lite1-v2", "sketch-lite1-v2@160"):
        assert str(ModelId.parse(text)) == text


def test_the_chosen_model_wins_then_the_librarys_then_the_default(tmp_path: Path) -> None:
    assert api.model_for_library(None) == api.ModelRequest(api.DEFAULT_MODEL, None)
    with PhotoLibrary.open(tmp_path / "library") as library:
        assert api.model_for_library(library) == api.ModelRequest(api.DEFAULT_MODEL, None)
        library.store.set_meta("model_id", "lite1-imagenet@96")
        assert api.model_for_library(library) == api.ModelRequest("lite1-imagenet", 96)
        assert api.model_for_library(library, image_size=128) == api.ModelRequest("lite1-imagenet", 128)
        assert api.model_for_library(library, "lite0-imagenet") == api.ModelRequest("lite0-imagenet", None)
        assert api.model_for_library(library, "lite0-imagenet", 64) == api.ModelRequest("lite0-imagenet", 64)
        library.store.set_meta("model_id", "ckpt-00000000deadbeef")
        with pytest.raises(LibraryError, match="not among your trained models"):
            api.model_for_library(library)


def test_the_catalog_says_which_model_downloads(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    downloading = [m for m in catalog.BUILTIN_MODELS if m.downloads]
    assert downloading == [catalog.downloaded_model()]
    choice = api.weights_file_model()
    assert choice.spec == downloading[0].id and choice.label == downloading[0].short_name
    assert needs_download(choice.spec) and not needs_download(choice.spec, weights=tmp_path / "mine.pth")
    offline = [m.id for m in catalog.BUILTIN_MODELS if not m.downloads]
    assert offline and not any(needs_download(spec) for spec in offline)
    assert not needs_download(tmp_path / "a-checkpoint-folder")
    assert ensure_weights(offline[0]) is None  # nothing to download: nothing fetched


def test_fine_tuning_offers_shipped_recipes_shortest_first() -> None:
    offered = api.fine_tuning_recipes()
    assert offered == ("quick", "standard", "thorough") and set(offered) <= set(recipe_names())
