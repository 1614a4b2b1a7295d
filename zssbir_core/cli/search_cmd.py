"""``zssbir-cli search``: rank the library's photos for one or more sketch files."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from zssbir_core.cli import numbers
from zssbir_core.cli.index_cmd import add_library_arguments, add_model_arguments


class _SearchParser(argparse.ArgumentParser):
    """Takes ``-0`` as the NUL-output flag and every other negative number (``--min-score -0.2``) as
    a value; plain argparse, once a ``-0`` option exists, reads ``-0.2`` as ``-0`` with ``.2`` attached."""

    def _parse_optional(self, arg_string: str) -> Any:
        if arg_string != "-0" and self._negative_number_matcher.match(arg_string):
            return None
        return super()._parse_optional(arg_string)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser_class, subparsers._parser_class = subparsers._parser_class, _SearchParser
    try:
        parser = subparsers.add_parser(
            "search",
            help="find the photos that match sketches",
            description="Print ranked photo paths with cosine scores for every sketch (the model is loaded once).",
        )
    finally:
        subparsers._parser_class = parser_class
    add_library_arguments(parser)
    parser.add_argument("--sketch", nargs="+", type=Path, required=True, metavar="FILE", help="sketch image files")
    parser.add_argument("--k", type=numbers.result_count, default=20, help="results per sketch (default 20)")
    parser.add_argument("--folder", nargs="+", type=Path, metavar="PATH", help="only photos inside these folders")
    parser.add_argument("--min-score", type=float, metavar="S", help="only results scoring at least S (cosine, -1 to 1)")
    parser.add_argument("--like", nargs="+", type=Path, default=[], action="extend", metavar="PHOTO",
                        help="library photos to find more like (moves the query: relevance feedback; repeatable)")
    parser.add_argument("--unlike", nargs="+", type=Path, default=[], action="extend", metavar="PHOTO",
                        help="library photos to move away from (repeatable)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help='one JSON object per sketch and line: {"query", "results": [{"path", "score"}]}')
    output.add_argument("--paths-only", action="store_true", help="only the photos' paths, one a line, best first")
    output.add_argument("-0", "--null", action="store_true",
                        help="only the paths, each ended by a NUL byte (for xargs -0; any file name is safe)")
    add_model_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from zssbir_core.cli.index_cmd import load_library_model
    from zssbir_core.errors import ImageReadError, ZssbirError
    from zssbir_core.library import PhotoLibrary
    from zssbir_core.paths import display_path
    from zssbir_core.refine import Feedback
    from zssbir_core.search import SketchSearcher

    with PhotoLibrary.open(args.library, create=False) as library:
        if library.model_id is None:
            raise ZssbirError("the library has no indexed photos yet: run zssbir-cli index --add PATH first")
        check_folders(library, args.folder or [])
        feedback = Feedback()
        feedback.add_round(photo_ids(library, args.like), photo_ids(library, args.unlike))
        searcher = SketchSearcher(library, load_library_model(args, library))
        status = 0
        for sketch in args.sketch:
            try:
                results = searcher.search(sketch, args.k, args.folder, feedback=feedback)
            except ImageReadError as error:
                print(f"zssbir-cli search: error: {error}", file=sys.stderr)
                status = 2
                continue
            if args.min_score is not None:
                results = [r for r in results if r.score >= args.min_score]
            if args.null:
                sys.stdout.buffer.write(b"".join(os.fsencode(r.path) + b"\0" for r in results))
                sys.stdout.buffer.flush()
            elif args.paths_only:
                for result in results:
                    print(display_path(result.path))
            elif args.json:
                print(json.dumps({"query": display_path(sketch),
                                  "results": [{"path": display_path(r.path), "score": round(r.score, 6)}
                                              for r in results]}, allow_nan=False),
                      flush=True)
            else:
                print(f"{display_path(sketch)}:")
                for rank, result in enumerate(results, 1):
                    print(f"{rank:4d}  {result.score:.4f}  {display_path(result.path)}")
        return status


def check_folders(library: Any, folders: list[Path]) -> None:
    """--folder must name existing folders of the library (a typo would otherwise find nothing, silently)."""
    from zssbir_core.errors import ZssbirError
    from zssbir_core.library.library import folder_key

    watched = [folder_key(f.path) for f in library.folders()]
    for folder in folders:
        if not folder.is_dir():
            raise ZssbirError(f"--folder {folder}: no such folder")
        key = folder_key(folder)
        if not any(key == w or key.startswith(w.rstrip("/") + "/") for w in watched):
            raise ZssbirError(f"--folder {folder}: not inside a folder of the library (zssbir-cli library lists them)")


def photo_ids(library: Any, photos: list[Path]) -> list[int]:
    """The library ids of --like / --unlike photos; an error names a photo the library does not hold."""
    from zssbir_core.errors import ZssbirError

    ids = []
    for photo in photos:
        found = library.photo_id_of(photo)
        if found is None:
            raise ZssbirError(f"{photo} is not a photo of this library, so it cannot steer the search")
        ids.append(found)
    return ids
