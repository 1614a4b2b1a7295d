"""The hostile model zoo: one function per kind of bad checkpoint or weights file, each turning a
real, valid checkpoint folder (or a real weights file) into that kind in place.

``tests/core/test_hostile_models.py`` feeds every kind to every reader (load, info, store import,
the command line). New kinds go here so that all readers meet them.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zssbir_core.models.model_json import content_hash

META, WEIGHTS = "model.json", "model.safetensors"


def _meta(folder: Path) -> dict[str, Any]:
    return json.loads((folder / META).read_text())


def write_meta(folder: Path, meta: Any, *, rehash: bool = True) -> None:
    """Write ``meta`` as model.json; with ``rehash`` give it the hash its weights would need, so that
    the schema (not the hash) is what must catch it."""
    if rehash and isinstance(meta, dict) and "content_hash" in meta:
        try:
            meta["content_hash"] = content_hash({**meta, "format_version": 2}, (folder / WEIGHTS).read_bytes())
        except (TypeError, ValueError):
            pass
    (folder / META).write_text(json.dumps(meta))


def _edit(**changes: Any) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        meta = _meta(folder)
        for key, value in changes.items():
            if "." in key:
                outer, inner = key.split(".")
                meta[outer][inner] = value
            elif value is _DROP:
                meta.pop(key)
            else:
                meta[key] = value
        write_meta(folder, meta, rehash="content_hash" not in changes)

    return apply


_DROP = object()


def _raw_meta(text: bytes) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        (folder / META).write_bytes(text)

    return apply


def _deep(folder: Path) -> None:
    meta = _meta(folder)
    meta["training"]["notes"] = json.loads("[" * 500 + "]" * 500)
    write_meta(folder, meta)


def _nan_mean(folder: Path) -> None:
    meta = _meta(folder)
    meta["preprocessing"]["mean"] = [float("nan")] * 3
    write_meta(folder, meta)


def _very_deep(folder: Path) -> None:
    (folder / META).write_text("[" * 200_000 + "]" * 200_000)


# model.json kinds: every one must be refused as "not a valid checkpoint description".
BAD_MODEL_JSON: dict[str, Callable[[Path], None]] = {
    "a list": _raw_meta(b"[1, 2]"),
    "null": _raw_meta(b"null"),
    "a string": _raw_meta(b'"model"'),
    "an empty object": _raw_meta(b"{}"),
    "an empty file": _raw_meta(b""),
    "not JSON": _raw_meta(b"{model: yes"),
    "not UTF-8": _raw_meta(b'{"format": "\xff\xfe"}'),
    "nested 200000 deep": _very_deep,
    "training nested 500 deep": _deep,
    "embedding_dim negative": _edit(embedding_dim=-1),
    "embedding_dim zero": _edit(embedding_dim=0),
    "embedding_dim huge": _edit(embedding_dim=10**12),
    "embedding_dim a string": _edit(embedding_dim="512"),
    "embedding_dim a float": _edit(embedding_dim=8.5),
    "embedding_dim true": _edit(embedding_dim=True),
    "num_classes negative": _edit(num_classes=-3),
    "num_classes huge": _edit(num_classes=10**9),
    "num_classes null": _edit(num_classes=None),
    "image_size 1000000": _edit(**{"preprocessing.image_size": 1_000_000}),
    "image_size 0": _edit(**{"preprocessing.image_size": 0}),
    "image_size a string": _edit(**{"preprocessing.image_size": "224"}),
    "mean too short": _edit(**{"preprocessing.mean": [0.5]}),
    "mean NaN": _nan_mean,
    "std zero": _edit(**{"preprocessing.std": [0.0, 0.0, 0.0]}),
    "mean strings": _edit(**{"preprocessing.mean": ["a", "b", "c"]}),
    "preprocessing a list": _edit(preprocessing=[224]),
    "unknown backbone": _edit(backbone="resnet18"),
    "backbone a path": _edit(backbone="../../etc/passwd"),
    "backbone a number": _edit(backbone=5),
    "classes not a list": _edit(classes="cat,dog"),
    "classes of numbers": _edit(classes=[1, 2]),
    "too many classes": _edit(classes=["c"] * 30_000),
    "a class name of 1 MB": _edit(classes=["x" * 1_000_000]),
    "training a list": _edit(training=[1]),
    "metrics a number": _edit(metrics=3),
    "content_hash missing": _edit(content_hash=_DROP),
    "content_hash not hex": _edit(content_hash="../" * 20 + "abcd"),
    "format missing": _edit(format=_DROP),
    "another format": _edit(format="something-else"),
    "format_version 0": _edit(format_version=0),
    "format_version a string": _edit(format_version="2"),
    "format_version from the future": _edit(format_version=99),
}


def _weights(transform: Callable[[bytes], bytes], *, rehash: bool = True) -> Callable[[Path], None]:
    """Replace the weights with ``transform(weights)``; with ``rehash`` model.json's hash is made to
    match, so that the header check (not the hash) is what must catch it."""

    def apply(folder: Path) -> None:
        data = transform((folder / WEIGHTS).read_bytes())
        (folder / WEIGHTS).write_bytes(data)
        if rehash:
            write_meta(folder, _meta(folder))

    return apply


def _header(data: bytes) -> tuple[dict[str, Any], bytes]:
    (size,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + size]), data[8 + size:]


def _with_header(header: dict[str, Any], body: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


def _edit_header(change: Callable[[dict[str, Any]], None], body: Callable[[bytes], bytes] = lambda b: b):
    def transform(data: bytes) -> bytes:
        header, rest = _header(data)
        change(header)
        return _with_header(header, body(rest))

    return transform


def _first(header: dict[str, Any]) -> str:
    return next(name for name in sorted(header) if name != "__metadata__")


def _set(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(header: dict[str, Any]) -> None:
        header[_first(header)][field] = value

    return change


def _drop_first(header: dict[str, Any]) -> None:
    header.pop(_first(header))


def _add_tensor(header: dict[str, Any]) -> None:
    end = max(e["data_offsets"][1] for k, e in header.items() if k != "__metadata__")
    header["backdoor"] = {"dtype": "U8", "shape": [0], "data_offsets": [end, end]}


def _embedding_shape(header: dict[str, Any]) -> None:
    entry = header["embedding.weight"]
    rows, cols = entry["shape"]
    entry["shape"] = [cols, rows]  # same byte count, wrong shape


# safetensors kinds: every one must be refused before any tensor is read.
BAD_WEIGHTS: dict[str, Callable[[Path], None]] = {
    "empty": _weights(lambda d: b""),
    "seven bytes": _weights(lambda d: d[:7]),
    "header length 2**63": _weights(lambda d: struct.pack("<Q", 1 << 63) + d[8:]),
    "header longer than the file": _weights(lambda d: struct.pack("<Q", len(d)) + d[8:]),
    "header not JSON": _weights(lambda d: struct.pack("<Q", 10) + b"{not json}" + d[8:]),
    "header a list": _weights(lambda d: _with_header([], b"")),  # type: ignore[arg-type]
    "truncated by 100 bytes": _weights(lambda d: d[:-100]),
    "truncated to half": _weights(lambda d: d[: len(d) // 2]),
    "trailing bytes": _weights(lambda d: d + b"\0" * 64),
    "unknown dtype": _weights(_edit_header(_set("dtype", "F128"))),
    "dtype an object": _weights(_edit_header(_set("dtype", {"a": 1}))),  # found by fuzz_readers.py
    "dtype a list": _weights(_edit_header(_set("dtype", ["F32"]))),
    "negative shape": _weights(_edit_header(_set("shape", [-1, 4]))),
    "shape of 2**40 elements": _weights(_edit_header(_set("shape", [1 << 20, 1 << 20]))),
    "offsets past the end": _weights(_edit_header(_set("data_offsets", [0, 1 << 40]))),
    "offsets reversed": _weights(_edit_header(_set("data_offsets", [8, 0]))),
    "a tensor missing": _weights(_edit_header(_drop_first)),
    "an extra tensor": _weights(_edit_header(_add_tensor)),
    "a tensor of the wrong shape": _weights(_edit_header(_embedding_shape)),
    "metadata not strings": _weights(_edit_header(lambda h: h.__setitem__("__metadata__", {"a": 1}))),
    "random bytes": _weights(lambda d: os.urandom(4096)),
    "a pickle": _weights(lambda d: pickle.dumps({"x": 1})),
    "one flipped bit, hash kept": _weights(lambda d: d[:-10] + bytes([d[-10] ^ 1]) + d[-9:], rehash=False),
}


def _described_other_net(folder: Path) -> None:
    """model.json says 32 dimensions, the weights hold 8: the hash matches, the tensors do not."""
    meta = _meta(folder)
    meta["embedding_dim"] = 32
    write_meta(folder, meta)


def _edited_preprocessing(folder: Path) -> None:
    """model.json edited after saving, hash left as it was (format 2 covers model.json)."""
    meta = _meta(folder)
    meta["preprocessing"]["image_size"] = 96
    write_meta(folder, meta, rehash=False)


BAD_PAIRS: dict[str, Callable[[Path], None]] = {
    "model.json describes another network": _described_other_net,
    "model.json edited, hash kept": _edited_preprocessing,
}
