"""ResNet50 with torchvision's ImageNet weights: found in the torch hub cache, given as a file, or
downloaded on first use (with progress and cancel), never silently replaced by random weights."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from zssbir_core.atomic import atomic_write
from zssbir_core.errors import WeightsUnavailableError, ZssbirError
from zssbir_core.models.safe_io import first_line, load_state_dict_file

if TYPE_CHECKING:
    import torchvision

# torchvision's ResNet50_Weights.IMAGENET1K_V1.url (a test holds them equal); torchvision itself is
# imported only to build the network, as importing it takes about 1.4 s
RESNET50_URL = "https://download.pytorch.org/models/resnet50-0676ba61.pth"
FEATURE_DIM = 2048
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")

ProgressCallback = Callable[[int, int], None]


class DownloadCancelled(ZssbirError):
    """The user cancelled a weights download; nothing was written to the cache."""


def resnet50_cache_path() -> Path:
    """Where torchvision keeps the ResNet50 ImageNet file (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(RESNET50_URL)


def _unavailable(reason: str) -> WeightsUnavailableError:
    return WeightsUnavailableError(
        f"ResNet50 ImageNet weights are not available ({reason}). They come from {RESNET50_URL} and "
        f"are cached at {resnet50_cache_path()}. Offline, copy that file there, or pass a local copy with "
        "--weights FILE (in the app: Settings > Model > choose a weights file), or use the offline "
        "'default' model."
    )


def ensure_resnet50_weights(
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    url: str | None = None,
    timeout: float = 30.0,
) -> Path:
    """Return the cached ResNet50 file, downloading it first if needed.

    The download goes to a temporary file beside the cache and is renamed into place only when it is
    complete and its SHA-256 matches the prefix in the file name, so a cancelled or broken download
    leaves nothing behind. ``progress(done_bytes, total_bytes)`` is called as data arrives
    (``total_bytes`` is 0 when the server does not say).
    """
    target = resnet50_cache_path()
    if target.is_file():
        return target
    source = url or RESNET50_URL
    target.parent.mkdir(parents=True, exist_ok=True)
    expected = _HASH_IN_NAME.search(os.path.basename(source))
    digest = hashlib.sha256()
    try:
        with atomic_write(target) as out, urllib.request.urlopen(source, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while chunk := response.read(1 << 16):
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelled("the ResNet50 weights download was cancelled")
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
            if expected and not digest.hexdigest().startswith(expected.group(1)):
                raise _unavailable(f"the downloaded file from {source} is corrupt (checksum mismatch)")
    except (urllib.error.URLError, OSError) as error:
        raise _unavailable(f"download failed: {getattr(error, 'reason', error)}") from error
    return target


def build_resnet50(weights: str | Path | None, pretrained: bool, download: bool = True) -> torchvision.models.ResNet:
    """torchvision's ResNet50 with ImageNet weights from ``weights``, the cache, or a download."""
    import torchvision

    model = torchvision.models.resnet50(weights=None)
    if not pretrained:
        return model
    if weights is not None:
        path = Path(weights)
        if not path.exists():
            raise WeightsUnavailableError(f"weights file not found: {path}")
    elif resnet50_cache_path().is_file():
        path = resnet50_cache_path()
    elif download:
        from tqdm import tqdm

        with tqdm(unit="B", unit_scale=True, desc="ResNet50 ImageNet weights", leave=False) as bar:

            def report(done: int, total: int) -> None:
                bar.total = total or None
                bar.update(done - bar.n)

            path = ensure_resnet50_weights(progress=report)
    else:
        raise _unavailable("no cached file")
    state = load_state_dict_file(path, "a ResNet50 ImageNet")
    try:
        model.load_state_dict(state)
    except Exception as error:  # a truncated file, a pickle with code, another network's weights
        raise WeightsUnavailableError(f"{path} is not a ResNet50 ImageNet state dict: {first_line(error)}") from error
    return model
