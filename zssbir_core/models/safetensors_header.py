"""Checking a safetensors file's header before any tensor is read from it.

Layout: 8 bytes little-endian header length ``N``, ``N`` bytes of JSON (tensor name ->
``{"dtype", "shape", "data_offsets": [begin, end]}``, plus an optional ``__metadata__`` object of
strings), then the tensor data, packed without gaps in offset order. ``check_header`` verifies all
of it, and that the tensors are exactly those (names, shapes, dtypes) of the network the
checkpoint's ``model.json`` describes, so loading can neither allocate what the file claims nor
fail half-way.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping

import torch

from zssbir_core.errors import ModelLoadError

MAX_HEADER_BYTES = 8 << 20
DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
_FLOATS = {"F64", "F32", "F16", "BF16"}
_TORCH_NAMES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
                torch.bool: "BOOL"}

Expected = Mapping[str, tuple[tuple[int, ...], torch.dtype]]


def read_header(data: bytes, where: str) -> dict[str, dict]:
    """Parse and check the header of the safetensors bytes ``data``: tensor name -> entry."""
    if len(data) < 8:
        raise ModelLoadError(f"{where} is not a safetensors file (only {len(data)} bytes)")
    (size,) = struct.unpack("<Q", data[:8])
    if size < 2 or size > MAX_HEADER_BYTES or 8 + size > len(data):
        raise ModelLoadError(f"{where} is not a safetensors file or is truncated (header of {size:,} bytes "
                             f"in a file of {len(data):,})")
    try:
        header = json.loads(data[8:8 + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ModelLoadError(f"{where} has a damaged safetensors header: {error}") from error
    if not isinstance(header, dict):
        raise ModelLoadError(f"{where} has a damaged safetensors header: not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelLoadError(f"{where} has a damaged safetensors header: __metadata__ must map names to strings")
    spans = []
    for name, entry in header.items():
        _check_entry(name, entry, where)
        spans.append((entry["data_offsets"][0], entry["data_offsets"][1], name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise ModelLoadError(f"{where} has a damaged safetensors header: tensor {name!r} does not start "
                                 "where the previous one ends")
        position = end
    if position != len(data) - 8 - size:
        raise ModelLoadError(f"{where} is truncated or has trailing bytes: its header describes {position:,} "
                             f"bytes of tensors, the file holds {len(data) - 8 - size:,}")
    return header


def _check_entry(name: str, entry: object, where: str) -> None:
    def bad(reason: str) -> ModelLoadError:
        return ModelLoadError(f"{where} has a damaged safetensors header: tensor {name[:80]!r} {reason}")

    if not isinstance(entry, dict):
        raise bad("is not described by an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPE_SIZES:
        raise bad(f"has an unknown dtype {str(dtype)[:20]!r}")
    if not isinstance(shape, list) or len(shape) > 8 or not all(_whole(d) for d in shape):
        raise bad("has a malformed shape")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_whole(o) for o in offsets) \
            or offsets[0] > offsets[1]:
        raise bad("has malformed data offsets")
    if (offsets[1] - offsets[0]) != math.prod(shape) * DTYPE_SIZES[dtype]:
        raise bad("has data offsets that do not match its shape")


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 48


def check_against(header: Mapping[str, dict], expected: Expected, where: str) -> None:
    """Raise ``ModelLoadError`` unless ``header`` holds exactly the ``expected`` tensors.

    Floating-point tensors may be stored in any float dtype (they are cast on loading); others
    must have the expected dtype.
    """
    missing = sorted(set(expected) - set(header))
    extra = sorted(set(header) - set(expected))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (first {missing[0]!r})")
        if extra:
            parts.append(f"{len(extra)} unexpected (first {extra[0][:80]!r})")
        raise ModelLoadError(f"{where} does not match its model.json: tensors {' and '.join(parts)}")
    for name, (shape, dtype) in expected.items():
        entry = header[name]
        if tuple(entry["shape"]) != tuple(shape):
            raise ModelLoadError(f"{where} does not match its model.json: tensor {name!r} has shape "
                                 f"{tuple(entry['shape'])}, expected {tuple(shape)}")
        want = _TORCH_NAMES.get(dtype, str(dtype))
        if entry["dtype"] != want and not (want in _FLOATS and entry["dtype"] in _FLOATS):
            raise ModelLoadError(f"{where} does not match its model.json: tensor {name!r} is {entry['dtype']}, "
                                 f"expected {want}")
