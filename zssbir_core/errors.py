"""Errors that carry a message meant for the user, not a stack trace."""

from __future__ import annotations

import os


class ZssbirError(Exception):
    """Base class: a failure the user can act on; ``str(error)`` is the message to show."""


class WeightsUnavailableError(ZssbirError):
    """Model weights are missing and cannot be fetched (offline, no cached file)."""


class ModelLoadError(ZssbirError):
    """A model name or checkpoint directory could not be loaded."""


class ImageReadError(ZssbirError):
    """An image file could not be decoded; ``reason`` says why in a few words."""

    def __init__(self, path: object, reason: str) -> None:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace") if isinstance(path, (str, os.PathLike)) else path
        super().__init__(f"{shown}: {reason}")
        self.path = path
        self.reason = reason


class DatasetError(ZssbirError):
    """A dataset folder is malformed (missing domains, empty classes, unreadable files)."""


class LibraryError(ZssbirError):
    """The photo library cannot be opened or changed (permissions, full disk, bad folder)."""


class LinkTargetError(ZssbirError):
    """A file or folder zssbir was about to write is a symbolic link: zssbir never writes through
    one (it could redirect the write onto any of the user's files)."""

    def __init__(self, path: object) -> None:
        super().__init__(f"{path} is a symbolic link; zssbir does not write through links "
                         "(remove the link, or choose another folder)")
        self.path = path
