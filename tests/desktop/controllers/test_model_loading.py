"""Model loading without a window: which model, the real Lite0 model loaded in the background, a
missing checkpoint, and ResNet50 offline (its download fails at once against a closed local port)."""

from __future__ import annotations

import time

from PySide6.QtCore import QSettings

from tests.desktop.controllers.conftest import WAIT_MS
from zssbir_core.api import ModelRequest
from zssbir_core.models.catalog import DEFAULT_MODEL
from zssbir_desktop.models.loading import (
    CHOOSE_CHECKPOINT,
    NOT_LOADED,
    RETRY_DOWNLOAD,
    USE_DEFAULT,
    ModelLoading,
    Offer,
)
from zssbir_desktop.settings.preferences import Preferences, PreferencesStore, load_preferences

CLOSED_PORT_URL = "http://127.0.0.1:9/resnet50.pth"  # the discard port: nothing listens, the download fails


def loading_for(engine, prefs: Preferences) -> tuple[ModelLoading, list[tuple[str, bool]], list[Offer]]:
    loading = ModelLoading(engine, PreferencesStore(prefs, QSettings()))
    states: list[tuple[str, bool]] = []
    offers: list[Offer] = []
    loading.state.connect(lambda text, busy: states.append((text, busy)))
    loading.offer.connect(offers.append)
    return loading, states, offers


def test_the_chosen_model_wins_then_the_librarys_own_then_the_default(engine) -> None:
    prefs = Preferences()
    loading, _states, _offers = loading_for(engine, prefs)
    assert loading.model_spec() == ModelRequest(DEFAULT_MODEL, None)
    engine.library.store.set_meta("model_id", "lite1-imagenet@96")
    assert loading.model_spec() == ModelRequest("lite1-imagenet", 96)
    prefs.model = "lite0-imagenet"
    assert loading.model_spec() == ModelRequest("lite0-imagenet", None)


def test_loading_says_busy_then_names_the_model(qtbot, engine) -> None:
    loading, states, offers = loading_for(engine, Preferences(model="lite0-imagenet", device="cpu"))
    with qtbot.waitSignal(loading.ready, timeout=WAIT_MS):
        loading.load_model()
        assert states == [("Loading model lite0-imagenet…", True)]
        assert offers[0].kind == "busy" and not offers[0].closable and "Loading the model" in offers[0].text
    assert states[-1] == (f"Model: {engine.embedder.name} on cpu", False)


def test_a_missing_checkpoint_offers_the_default_model(qtbot, engine, tmp_path) -> None:
    loading, states, offers = loading_for(engine, Preferences(model=str(tmp_path / "gone"), device="cpu"))
    with qtbot.waitSignal(engine.model_failed, timeout=WAIT_MS):
        loading.load_model()
    assert states[-1] == (NOT_LOADED, False)
    assert offers[-1].kind == "error" and "could not be loaded" in offers[-1].text
    assert ("Use the default model", USE_DEFAULT) in offers[-1].choices
    assert ("Choose a checkpoint…", CHOOSE_CHECKPOINT) in offers[-1].choices
    with qtbot.waitSignal(loading.ready, timeout=WAIT_MS):
        loading.use_offline_model()
    assert loading.model_spec().spec == DEFAULT_MODEL == load_preferences(QSettings()).model


def test_resnet50_offline_downloads_once_then_offers_the_ways_forward(qtbot, engine, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    loading, states, offers = loading_for(engine, Preferences(model="resnet50-imagenet", device="cpu"))
    loading.weights_url = CLOSED_PORT_URL
    downloads: list[str] = []
    loading.download_started.connect(lambda: downloads.append("started"))
    loading.download_finished.connect(lambda: downloads.append("finished"))
    loading.load_model()
    qtbot.waitUntil(lambda: bool(offers) and offers[-1].kind == "warning", timeout=WAIT_MS)
    assert downloads == ["started", "finished"]
    assert ("Downloading ResNet50 weights…", True) in states and states[-1] == (NOT_LOADED, False)
    offer = offers[-1]
    assert "not available on this computer" in offer.text and offer.detail
    assert ("Retry download", RETRY_DOWNLOAD) in offer.choices and ("Use the default model (offline)", USE_DEFAULT) in offer.choices
    assert not list((tmp_path / "torch").rglob("*.pth"))
    with qtbot.waitSignal(engine.model_failed, timeout=WAIT_MS):
        loading.load_model()  # asked again: no second download, the offer straight away
    qtbot.waitUntil(lambda: offers[-1].kind == "warning", timeout=WAIT_MS)
    assert downloads == ["started", "finished"]


def test_a_download_that_fails_before_the_caller_returns_is_still_reported(qtbot, engine, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    failures: list[BaseException] = []
    engine.download_weights("resnet50-imagenet", CLOSED_PORT_URL, on_failure=failures.append)
    time.sleep(0.5)  # the refused connection fails in the worker while the GUI thread is busy here
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    assert "download failed" in str(failures[0])
