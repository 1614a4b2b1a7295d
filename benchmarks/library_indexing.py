"""Indexing throughput, end to end, on full-size camera JPEGs, next to the bare network.

Makes ``--photos`` 4000x3000 JPEGs (quality 92, with sensor-like grain) by resampling real photos
of the Sketchy sample into ``--workdir`` (not the repository), then for each backbone:

- bare network: the same photos decoded and preprocessed once, then only ``embed_tensors`` timed
  on batches of ``--batch-size`` (after one warm-up batch);
- decoding alone: the indexer's decode path (draft decode, preprocessing, thumbnail) in its
  thread pool, without the network: the work the network has to hide;
- end to end: a fresh library indexing the folder (scan, JPEG draft decoding, EXIF, thumbnails,
  preprocessing in the decode thread pool, network, SQLite writes); the rate is photos per second
  of the embed phase (model loading and the folder scan excluded).

``resnet50`` is built with ``pretrained=False`` (its ImageNet weights cannot be downloaded on the
benchmark machine; speed does not depend on weight values). The EfficientNet-Lite backbones use their
real ImageNet weights. Each network is prepared as ``load_model`` prepares it (static padding,
folded BatchNorm, CPU micro-batches; ONNX Runtime when the onnx extra is installed). Like the app and
``zssbir-cli``, it tunes malloc
(``zssbir_core.cpu_allocator``; ``ZSSBIR_MALLOC_TUNING=0`` measures without). Example::

    python benchmarks/library_indexing.py --photos 64 --output docs/benchmarks/library_indexing.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from zssbir_core.cpu_allocator import tune_malloc
from zssbir_core.imageio import load_image
from zssbir_core.library import PhotoLibrary
from zssbir_core.library.thumbnails import THUMBNAIL_SIZE
from zssbir_core.models.backbones import build_backbone
from zssbir_core.models.inference import prepare_for_inference
from zssbir_core.models.network import ZSSBIRNet
from zssbir_core.models.onnx_runtime import onnx_encoder
from zssbir_core.models.torch_embedder import TorchEmbedder

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "sketchy-seen100" / "photo"


def make_camera_jpegs(source: Path, target: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` 4000x3000 JPEGs resampled from real photos (made once, then reused)."""
    target.mkdir(parents=True, exist_ok=True)
    sources = sorted(source.glob("*/*.jpg"))[:: max(1, len(list(source.glob("*/*.jpg"))) // count)][:count]
    rng = np.random.default_rng(seed)
    made = []
    for i, photo in enumerate(sources):
        path = target / f"IMG_{i:04d}.jpg"
        if not path.exists():
            with Image.open(photo) as image:
                big = image.convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
            pixels = np.asarray(big, dtype=np.int16) + rng.normal(0, 4, (3000, 4000, 1)).astype(np.int16)
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=92)
        made.append(path)
    return made


def embedder_for(backbone_name: str, device: str) -> TorchEmbedder:
    pretrained = backbone_name.startswith("efficientnet_lite")
    backbone = build_backbone(backbone_name, pretrained=pretrained)
    net = ZSSBIRNet(backbone, embedding_dim=None).to(device).eval()
    net, micro_batch = prepare_for_inference(net, backbone.preprocessing.image_size)  # as load_model does
    model_id = f"{backbone_name}-{'imagenet' if pretrained else 'random-init'}"
    onnx = onnx_encoder(net, backbone.preprocessing.image_size) if device == "cpu" else None
    return TorchEmbedder(net=net, device=torch.device(device), preprocessing=backbone.preprocessing,
                         model_id=model_id, name=model_id, micro_batch=micro_batch, onnx=onnx)


def bare_rate(embedder: TorchEmbedder, photos: list[Path], batch_size: int) -> float:
    transform = embedder.preprocessing.transform()
    size = max(embedder.preprocessing.image_size, THUMBNAIL_SIZE)
    tensors = torch.stack([torch.from_numpy(transform(load_image(p, target_size=size).image)) for p in photos])
    embedder.embed_tensors(tensors[:batch_size])  # warm-up
    started = time.perf_counter()
    for start in range(0, len(tensors), batch_size):
        embedder.embed_tensors(tensors[start : start + batch_size])
    return len(tensors) / (time.perf_counter() - started)


def decode_rate(embedder: TorchEmbedder, photos: list[Path], workers: int) -> float:
    """Photos per second of the indexer's decode path alone (draft decode, preprocessing,
    thumbnail) in a pool of ``workers`` threads: the work the network has to hide."""
    from concurrent.futures import ThreadPoolExecutor

    transform = embedder.preprocessing.transform()
    size = max(embedder.preprocessing.image_size, THUMBNAIL_SIZE)

    def decode(path: Path) -> None:
        image = load_image(path, target_size=size).image
        transform(image)
        image.copy().thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(decode, photos))
    return len(photos) / (time.perf_counter() - started)


def end_to_end_rate(embedder: TorchEmbedder, folder: Path, batch_size: int, workers: int | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory, PhotoLibrary.open(Path(directory) / "library") as library:
        library.add_folder(folder)
        embed_started = embed_ended = None
        last = None
        for event in library.index(embedder, batch_size=batch_size, workers=workers):
            if event.phase == "embed" and embed_started is None:
                embed_started = time.perf_counter()
            if event.phase == "sweep":
                embed_ended = time.perf_counter()
            last = event
        assert last is not None and last.phase == "done" and library.photo_count() == last.total
        usage = library.disk_usage()
        return {"photos": last.total, "seconds": embed_ended - embed_started,
                "rate": last.total / (embed_ended - embed_started),
                "thumbnail_bytes_per_photo": usage["thumbnails"] / last.total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=64)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "zssbir-bench-jpegs")
    parser.add_argument("--backbones", nargs="+", default=["efficientnet_lite0", "resnet50"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    malloc_tuning = tune_malloc().applied  # as zssbir and zssbir-cli do at start-up

    photos = make_camera_jpegs(args.source, args.workdir, args.photos)
    sizes = [p.stat().st_size for p in photos]
    report = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, {platform.processor() or ''}",
        "photos": len(photos), "median_jpeg_bytes": int(np.median(sizes)), "batch_size": args.batch_size,
        "device": args.device, "malloc_tuning": malloc_tuning, "results": {},
    }
    for name in args.backbones:
        embedder = embedder_for(name, args.device)
        bare = bare_rate(embedder, photos, args.batch_size)
        decode = decode_rate(embedder, photos, args.workers or min(4, os.cpu_count() or 1))
        full = end_to_end_rate(embedder, args.workdir, args.batch_size, args.workers)
        report["results"][name] = {"bare_rate": bare, "decode_only_rate": decode, "end_to_end": full,
                                   "ratio": full["rate"] / bare}
        print(f"{name}: bare network {bare:.2f} img/s, decoding alone {decode:.2f} img/s, "
              f"end to end {full['rate']:.2f} img/s ({100 * full['rate'] / bare:.0f}%)", flush=True)
    if args.output:
        args.output.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
