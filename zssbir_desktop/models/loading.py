"""Model loading: which model to search with, loading it in the background, the download of a
model's weights with progress and Cancel, and the ways forward when a model cannot be had (the
offline default model, a weights file, a trained checkpoint)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from zssbir_core.api import DEFAULT_MODEL
from zssbir_core.errors import LibraryError, WeightsUnavailableError, ZssbirError
from zssbir_desktop.engine import Engine
from zssbir_desktop.error_log import log_file
from zssbir_desktop.settings.preferences import Preferences, PreferencesStore

if TYPE_CHECKING:
    from zssbir_core.api import Embedder, ModelRequest

log = logging.getLogger("zssbir.desktop")

NOT_LOADED = "Model: not loaded"

# The ways forward a message can offer; the window turns each into a button.
USE_DEFAULT = "use-default"
CHOOSE_WEIGHTS = "choose-weights"
CHOOSE_CHECKPOINT = "choose-checkpoint"
RETRY_DOWNLOAD = "retry-download"
OPEN_SETTINGS = "open-settings"


@dataclass(frozen=True)
class Offer:
    """A message for the user with the ways forward: (button text, one of the choices above)."""

    text: str
    kind: str
    choices: tuple[tuple[str, str], ...] = ()
    closable: bool = True
    detail: str = ""
    """The full reason, for a tooltip (empty: none)."""


class ModelLoading(QObject):
    """Loads the model the preferences (or else the library, or else the default) name, and says how
    it goes: ``state`` for the status bar, ``offer`` for the message bar, ``download_*`` for the
    download dialog. ``weights_url`` is where downloaded weights come from (None: the catalog's).
    A change of model, device or weights file in the preferences loads the new choice."""

    state = Signal(str, bool)  # status text, busy
    offer = Signal(object)  # Offer
    ready = Signal()  # the model is in use: a loading message can go
    download_started = Signal()
    download_finished = Signal()

    def __init__(self, engine: Engine, prefs: PreferencesStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self._prefs = prefs
        self.weights_url: str | None = None
        self._download_offered = False
        engine.model_loading.connect(self._loading)
        engine.model_ready.connect(self._ready)
        engine.model_failed.connect(self._failed)
        prefs.changed.connect(self._prefs_changed)

    def model_spec(self) -> ModelRequest:
        """The model to search with: the preferences' choice, else the library's own, else the default."""
        from zssbir_core.api import model_for_library

        try:
            return model_for_library(self.engine.library, self._prefs.current.model or None)
        except LibraryError as error:
            log.warning("the library's model: %s", error)
            return model_for_library(None)  # the default model

    def load_model(self) -> None:
        """Load the model of ``model_spec`` in the background."""
        chosen = self.model_spec()
        prefs = self._prefs.current
        self.engine.load_model(chosen.spec, prefs.device, prefs.weights_file or None, chosen.image_size)

    def _prefs_changed(self, old: Preferences, new: Preferences) -> None:
        if (new.model, new.device, new.weights_file) == (old.model, old.device, old.weights_file):
            return
        if new.model and new.model == self.engine.model_spec() and new.device == old.device:
            return  # already in use (a model switch put it there)
        self.choice_changed()

    def choice_changed(self) -> None:
        """The user chose another model, device or weights file: load it (and offer a download again)."""
        self._download_offered = False
        self.load_model()

    def use_offline_model(self) -> None:
        """Switch to the default model (it works offline) and remember it."""
        self._change_model(DEFAULT_MODEL, weights="")

    def use_weights_file(self, path: str | Path) -> None:
        """Use the built-in model that takes a local weights file, with the one in ``path``, from now on."""
        from zssbir_core.api import weights_file_model

        self._change_model(weights_file_model().spec, weights=str(path))

    def use_checkpoint(self, folder: str | Path) -> None:
        """Use the trained checkpoint in ``folder`` from now on."""
        self._change_model(str(folder), weights="")

    def _change_model(self, spec: str, weights: str) -> None:
        if not self._prefs.update(model=spec, weights_file=weights):
            self.load_model()  # the same choice: load it again

    def download_weights(self) -> None:
        """Download the chosen model's weights (cancel with ``cancel_download``), then load the model."""
        spec = self.model_spec().spec
        self.download_started.emit()
        self.engine.download_weights(spec, self.weights_url, on_success=self._download_done,
                                     on_failure=self._download_failed)
        self.state.emit(f"Downloading {self.download_name()} weights…", True)

    def download_name(self) -> str:
        """A short name of the model whose weights download (for messages and the dialog)."""
        from zssbir_core.api import weights_file_model

        return weights_file_model().label

    def cancel_download(self) -> None:
        """Stop the download; nothing is left in the cache."""
        self.engine.cancel_download()

    def _loading(self, spec: str) -> None:
        name = Path(spec).name if ("/" in spec or "\\" in spec) else spec
        self.state.emit(f"Loading model {name}…", True)
        self.offer.emit(Offer(f"Loading the model ({name}). You can start drawing; results appear when it is ready.",
                              "busy", closable=False))

    def _ready(self, embedder: Embedder) -> None:
        log.info("model %s ready on %s", embedder.model_id, embedder.device)
        self.state.emit(f"Model: {embedder.name} on {embedder.device}", False)
        self.ready.emit()

    def _failed(self, error: BaseException) -> None:
        self.state.emit(NOT_LOADED, False)
        from zssbir_core.api import needs_download

        wants_download = needs_download(self.model_spec().spec, self._prefs.current.weights_file or None)
        if isinstance(error, WeightsUnavailableError) and wants_download:
            if not self._download_offered:
                self._download_offered = True
                self.download_weights()
            else:
                self._offer_offline_choices(str(error))
            return
        detail = str(error) if isinstance(error, ZssbirError) else f"{type(error).__name__}: {error} (details in {log_file()})"
        self.offer.emit(Offer(
            f"The model could not be loaded: {detail}", "error",
            (("Use the default model", USE_DEFAULT), ("Choose a checkpoint…", CHOOSE_CHECKPOINT),
             ("Settings…", OPEN_SETTINGS)),
        ))

    def _download_done(self, _path: Path | None) -> None:
        self.download_finished.emit()
        self.load_model()

    def _download_failed(self, error: BaseException) -> None:
        from zssbir_core.api import DownloadCancelled

        self.download_finished.emit()
        self.state.emit(NOT_LOADED, False)
        self._offer_offline_choices("The download was cancelled." if isinstance(error, DownloadCancelled) else str(error))

    def _offer_offline_choices(self, reason: str) -> None:
        self.offer.emit(Offer(
            f"<b>The {self.download_name()} model is not available on this computer</b> and could not be downloaded "
            "(no internet connection?). Use the default model, which works offline, or choose a weights "
            f"file or a trained checkpoint.<br><small>{reason.split('. ')[0]}.</small>",
            "warning",
            (("Use the default model (offline)", USE_DEFAULT), ("Choose a weights file…", CHOOSE_WEIGHTS),
             ("Choose a checkpoint…", CHOOSE_CHECKPOINT), ("Retry download", RETRY_DOWNLOAD)),
            detail=reason,
        ))
