"""``zssbir-cli embed``: image files or folders -> an ``.npz`` of paths and embeddings."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from zssbir_core.cli import numbers


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "embed",
        help="write the embeddings of images (files or folders) to an .npz file",
        description=(
            "Embed every image in PATH... (files, or folders searched recursively) and write OUTPUT, "
            "an .npz with 'paths' (strings), 'embeddings' (float32, one L2-normalised row per "
            "readable image, in the order of 'paths') and 'model_id'. Unreadable files are "
            "reported on stderr and left out."
        ),
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files or folders")
    parser.add_argument("--model", default="default",
                        help="default (the default), a built-in model (zssbir-cli doctor lists them) "
                             "or a checkpoint directory")
    parser.add_argument("--output", required=True, type=Path, help="the .npz file to write")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda[:N] or mps")
    parser.add_argument("--batch-size", type=numbers.batch_size, default=64, help="images per forward pass (default 64)")
    parser.add_argument("--image-size", type=numbers.image_size, help="input side in pixels (default: the model's)")
    parser.add_argument("--weights", help="local ImageNet weights file for a built-in model")
    parser.add_argument("--workers", type=numbers.int_between(0, numbers.MAX_WORKERS), default=0,
                        help="image decoding threads (default 0: one per core, up to 4)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm import tqdm

    from zssbir_core.errors import ZssbirError
    from zssbir_core.models.registry import load_model

    output = args.output.expanduser()
    if not output.parent.is_dir():
        raise ZssbirError(f"{output}: the output folder {output.parent} does not exist")
    files, missing = collect_image_paths(args.paths)
    for path in missing:
        print(f"zssbir-cli embed: skipped {path}: no such file or folder", file=sys.stderr)
    if not files:
        raise ZssbirError("no image files found in the given paths")

    embedder = load_model(args.model, device=args.device, weights=args.weights, image_size=args.image_size)
    loader = _batches(_DecodedImages(files, embedder.preprocessing), args.batch_size, args.workers)
    paths: list[str] = []
    chunks: list[np.ndarray] = []
    unreadable = 0
    with tqdm(total=len(files), unit="img", desc="embedding", disable=None, file=sys.stderr) as bar:
        for batch, batch_paths, errors in loader:
            for error in errors:
                bar.write(f"zssbir-cli embed: skipped {error}", file=sys.stderr)
            unreadable += len(errors)
            if batch_paths:
                chunks.append(embedder.embed_tensors(batch))
                paths.extend(batch_paths)
            bar.update(len(batch_paths) + len(errors))
    if not paths:
        raise ZssbirError(f"none of the {len(files)} image files could be read")
    embeddings = np.concatenate(chunks).astype(np.float32, copy=False)
    _write_npz(output, paths=np.array(paths, dtype=str), embeddings=embeddings,
               model_id=np.array(embedder.model_id))
    print(
        f"zssbir-cli embed: wrote {len(paths)} embeddings ({embeddings.shape[1]}-d, {embedder.model_id}) "
        f"to {output}" + (f"; {unreadable} unreadable file(s) skipped" if unreadable else ""),
        file=sys.stderr,
    )
    return 0


def collect_image_paths(inputs: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Image files named directly or found (recursively, by extension) in folders, without
    duplicates, and the inputs that do not exist. A file named directly is kept whatever its
    extension: decoding decides."""
    from zssbir_core.imageio import is_image_path

    found: dict[Path, None] = {}
    missing: list[Path] = []
    for item in inputs:
        item = item.expanduser()
        if item.is_dir():
            found.update((path, None) for path in _walk(item) if is_image_path(path))
        elif item.exists():
            found[item] = None
        else:
            missing.append(item)
    return list(found), missing


def _walk(folder: Path) -> Iterator[Path]:
    for current, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(current) / name


class _DecodedImages:
    """Item i is (array, path) or (None, "path: reason")."""

    def __init__(self, files: Sequence[Path], preprocessing) -> None:
        self.files = list(files)
        self.size = preprocessing.image_size
        self.transform = preprocessing.transform()

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        from zssbir_core.errors import ImageReadError
        from zssbir_core.imageio import open_image

        path = self.files[index]
        try:
            return self.transform(open_image(path, target_size=self.size)), str(path)
        except ImageReadError as error:
            return None, str(error)
        except Exception as error:  # noqa: BLE001 - one file must never stop the run
            return None, str(ImageReadError(path, f"cannot be prepared ({type(error).__name__}: {error})"))


def _batches(images: _DecodedImages, batch_size: int, workers: int):
    """(batch array or None, paths, errors) per ``batch_size`` files, decoded by ``workers`` threads
    (0: one per core, up to 4); no torch."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    with ThreadPoolExecutor(workers or min(4, os.cpu_count() or 1)) as pool:
        for start in range(0, len(images), batch_size):
            items = list(pool.map(images.__getitem__, range(start, min(start + batch_size, len(images)))))
            good = [(array, path) for array, path in items if array is not None]
            errors = [message for array, message in items if array is None]
            yield (np.stack([array for array, _ in good]) if good else None), [path for _, path in good], errors


def _write_npz(output: Path, **arrays) -> None:
    """Write atomically: a temporary file beside ``output``, then rename."""
    import numpy as np

    from zssbir_core.atomic import atomic_write
    from zssbir_core.errors import ZssbirError

    try:
        with atomic_write(output) as handle:
            np.savez(handle, **arrays)
    except OSError as error:
        raise ZssbirError(f"{output}: cannot write ({error.strerror or error})") from None
