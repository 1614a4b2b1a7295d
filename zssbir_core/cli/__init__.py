"""``zssbir-cli``: one entry point whose sub-commands live in ``*_cmd`` modules of this package.

Each module defines ``register(subparsers)``, which adds its parser and sets ``run=`` (a function
taking the parsed namespace and returning an exit status) with ``set_defaults``. Sub-command
modules import torch and friends inside ``run`` so that ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sqlite3
import sys
from collections.abc import Sequence

from zssbir_core import __version__
from zssbir_core.cpu_allocator import tune_malloc
from zssbir_core.errors import ZssbirError


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command found in this package."""
    parser = argparse.ArgumentParser(
        prog="zssbir-cli",
        description="Find photos by drawing them: index, search, train and evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"zssbir {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.endswith("_cmd"):
            importlib.import_module(f"{__name__}.{info.name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``zssbir-cli`` with ``argv``; user errors print one clear line and exit 2."""
    args = build_parser().parse_args(argv)
    tune_malloc()
    try:
        return int(args.run(args) or 0)
    except ZssbirError as error:
        print(f"zssbir-cli {args.command}: error: {error}", file=sys.stderr)
        return 2
    except sqlite3.Error as error:  # the library's store turns these into ZssbirError; a backstop
        print(f"zssbir-cli {args.command}: error: library database: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"zssbir-cli {args.command}: interrupted", file=sys.stderr)
        return 130
