"""Reading model files that may come from anywhere: regular files only, never more than a cap.

A checkpoint folder from elsewhere can hold a symbolic link to a private file (which an import
would copy and an export hand on), a link to ``/dev/zero`` or a FIFO (endless or blocking
reads), or a file far larger than any model. ``read_regular_file`` opens without following a
final link where asked (``O_NOFOLLOW`` where the OS has it, an ``lstat`` check elsewhere) and
without blocking on a FIFO, checks on the open descriptor that it is a regular file within the
cap, and reads at most the cap, so a file that grows while it is read is refused too.
"""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

from zssbir_core.errors import ModelLoadError, WeightsUnavailableError

_CHUNK = 1 << 20
MAX_STATE_DICT_BYTES = 1 << 30


def _flags(follow_links: bool) -> int:
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    return flags


def _describe(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
                       (stat.S_ISFIFO, "a pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a link")):
        if test(mode):
            return name
    return "not a regular file"


def read_regular_file(path: str | Path, max_bytes: int, *, follow_links: bool = True) -> bytes:
    """The whole content of the regular file ``path``, at most ``max_bytes`` long.

    ``follow_links=False`` refuses a symbolic link. Raises ``ModelLoadError`` naming the file.
    """
    path = Path(path)
    if not follow_links:
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):  # also where the OS has no O_NOFOLLOW
                raise ModelLoadError(f"{path} is a symbolic link; model files must be plain files")
        except FileNotFoundError as error:
            raise ModelLoadError(f"{path} does not exist") from error
        except OSError as error:
            raise ModelLoadError(f"cannot read {path}: {error.strerror or error}") from error
    try:
        fd = os.open(path, _flags(follow_links))
    except OSError as error:
        if not follow_links and getattr(error, "errno", None) in (getattr(os, "ELOOP", -1), getattr(os, "EMLINK", -1)):
            raise ModelLoadError(f"{path} is a symbolic link; model files must be plain files") from error
        raise ModelLoadError(f"cannot read {path}: {error.strerror or error}") from error
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ModelLoadError(f"{path} is {_describe(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise ModelLoadError(
                f"{path} is too large for a model file ({info.st_size:,} bytes; at most {max_bytes:,})")
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(_CHUNK, max_bytes + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise ModelLoadError(f"{path} grew past {max_bytes:,} bytes while it was read")
        return b"".join(chunks)
    except OSError as error:
        raise ModelLoadError(f"cannot read {path}: {error.strerror or error}") from error
    finally:
        os.close(fd)


def load_state_dict_file(path: str | Path, what: str) -> dict:
    """An ImageNet weights file (``torch.save`` of a state dict) read as a regular file within
    ``MAX_STATE_DICT_BYTES`` and unpickled with ``weights_only=True`` (no code can run).

    ``what`` names the network in the message; raises ``WeightsUnavailableError``.
    """
    import io

    import torch

    try:
        data = read_regular_file(path, MAX_STATE_DICT_BYTES)
    except ModelLoadError as error:
        raise WeightsUnavailableError(str(error)) from error
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:  # weights_only refused something: code, or an odd object
        raise WeightsUnavailableError(
            f"{path} is not {what} state dict: it holds more than tensors (refused; nothing in it was run)"
        ) from error
    except Exception as error:  # a truncated file, not a torch file at all
        raise WeightsUnavailableError(f"{path} is not {what} state dict: {first_line(error)}") from error
    if not isinstance(state, dict):
        raise WeightsUnavailableError(f"{path} is not {what} state dict: it holds {type(state).__name__}")
    return state


def first_line(error: BaseException, limit: int = 200) -> str:
    """The first line of an error's message, at most ``limit`` characters (torch's run to pages)."""
    text = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
    return text if len(text) <= limit else text[: limit - 3] + "..."
