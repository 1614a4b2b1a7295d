"""``zssbir-cli library``: what a library holds: folders, photo count, model, skipped files, sizes."""

from __future__ import annotations

import argparse
import json

from zssbir_core.cli.index_cmd import add_library_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("library", help="show a library's folders, photos, model and skipped files")
    add_library_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from zssbir_core.library import PhotoLibrary
    from zssbir_core.paths import display_path

    with PhotoLibrary.open(args.library, create=False) as library:
        usage = library.disk_usage()
        report = {
            "library": display_path(library.directory),
            "model": library.model_id,
            "photos": library.photo_count(),
            "folders": [{"path": display_path(f.path), "photos": f.photo_count} for f in library.folders()],
            "exclude": library.exclude_patterns(),
            "skipped": [{"path": display_path(s.path), "reason": s.reason} for s in library.skipped()],
            "unfinished": library.indexing_unfinished,
            "bytes": usage,
        }
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"library   {report['library']}")
    print(f"model     {report['model'] or '(nothing indexed yet)'}")
    print(f"photos    {report['photos']}" + ("  (indexing unfinished: run zssbir-cli index)" if report["unfinished"] else ""))
    print(f"on disk   index {_size(usage['index'])}, database {_size(usage['database'])}, "
          f"thumbnails {_size(usage['thumbnails'])}")
    print(f"folders   {len(report['folders'])}")
    for folder in report["folders"]:
        print(f"  {folder['photos']:8d}  {folder['path']}")
    if report["exclude"]:
        print(f"exclude   {' '.join(report['exclude'])}")
    print(f"skipped   {len(report['skipped'])}")
    for skipped in report["skipped"]:
        print(f"  {skipped['path']}: {skipped['reason']}")
    return 0


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count} B"
