"""``zssbir-cli search``: rank the library's photos for one or more sketch files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from zssbir_core.cli import numbers
from zssbir_core.cli.index_cmd import add_library_arguments, add_model_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "search",
        help="find the photos that match sketches",
        description="Print ranked photo paths with cosine scores for every sketch (the model is loaded once).",
    )
    add_library_arguments(parser)
    parser.add_argument("--sketch", nargs="+", type=Path, required=True, metavar="FILE", help="sketch image files")
    parser.add_argument("--k", type=numbers.result_count, default=20, help="results per sketch (default 20)")
    parser.add_argument("--folder", nargs="+", type=Path, metavar="PATH", help="only photos inside these folders")
    parser.add_argument("--json", action="store_true",
                        help='one JSON object per sketch and line: {"query", "results": [{"path", "score"}]}')
    add_model_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from zssbir_core.cli.index_cmd import load_library_model
    from zssbir_core.errors import ImageReadError, ZssbirError
    from zssbir_core.library import PhotoLibrary
    from zssbir_core.paths import display_path
    from zssbir_core.search import SketchSearcher

    with PhotoLibrary.open(args.library, create=False) as library:
        if library.model_id is None:
            raise ZssbirError("the library has no indexed photos yet: run zssbir-cli index --add PATH first")
        searcher = SketchSearcher(library, load_library_model(args, library))
        status = 0
        for sketch in args.sketch:
            try:
                results = searcher.search(sketch, args.k, args.folder)
            except ImageReadError as error:
                print(f"zssbir-cli search: error: {error}", file=sys.stderr)
                status = 2
                continue
            if args.json:
                print(json.dumps({"query": display_path(sketch),
                                  "results": [{"path": display_path(r.path), "score": round(r.score, 6)}
                                              for r in results]}, allow_nan=False),
                      flush=True)
            else:
                print(f"{display_path(sketch)}:")
                for rank, result in enumerate(results, 1):
                    print(f"{rank:4d}  {result.score:.4f}  {display_path(result.path)}")
        return status
