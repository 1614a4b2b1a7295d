"""Putting a finished directory in place of another in one step, so readers never see half of it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def replace_directory(source: Path, target: Path) -> None:
    """Move the complete directory ``source`` to ``target``, replacing any directory there.

    ``source`` must be on the same file system (a temporary directory beside ``target``). An
    existing ``target`` is first renamed aside, so at every moment one complete version exists.
    """
    if not target.exists():
        os.replace(source, target)
        return
    old = target.with_name(f".{target.name}-old-{os.getpid()}")
    os.replace(target, old)
    os.replace(source, target)
    shutil.rmtree(old, ignore_errors=True)
