"""Export packaged models (by id) or checkpoint folders to ``model.onnx`` beside their weights.

    python scripts/export_onnx.py sketch-lite1-v2 sketch-lite1-v1 [--images FOLDER]

Run at build time for every packaged model (``zssbir_core/models/packaged/<id>/``; the files are
committed and go into the wheel), and for any model folder made by an older zssbir. Each export is
checked against PyTorch (``zssbir_core.models.onnx_export``) on the built-in check images plus up
to 32 images of ``--images``; the sha256 of each file written is printed for docs/model-card.md.
Needs the ``train`` extra (torch, onnx).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from PIL import Image

from zssbir_core.errors import ZssbirError
from zssbir_core.models import catalog
from zssbir_core.models.checkpoint_info import find_checkpoint_dir
from zssbir_core.models.onnx_export import check_images, export_checkpoint
from zssbir_core.models.onnx_file import ONNX_META_FILE


def folder_of(spec: str) -> Path:
    """The checkpoint folder of a packaged model id or a checkpoint / training-run folder."""
    model = catalog.builtin(spec)
    folder = model.checkpoint_dir if model is not None else find_checkpoint_dir(spec)
    if folder is None:
        raise ZssbirError(f"{spec} is neither a packaged model nor a checkpoint folder")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="packaged model ids or checkpoint folders")
    parser.add_argument("--images", type=Path, help="a folder of real images to check the export on too")
    args = parser.parse_args(argv)
    images = check_images()
    if args.images:
        files = sorted(p for p in args.images.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        images += [Image.open(p).convert("RGB") for p in files[:: max(1, len(files) // 32)][:32]]
    try:
        for spec in args.models:
            written = export_checkpoint(folder_of(spec), images)
            for path in (written, written.with_name(ONNX_META_FILE)):
                print(f"{path}  sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}")
    except ZssbirError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
