"""``model.json``: its schema with limits, parsing from bytes, and the checkpoint's content hash.

Format versions:

- 1: ``content_hash`` is the sha256 of ``model.safetensors`` alone.
- 2: ``content_hash`` is the sha256 of a version tag, the canonical JSON of ``model.json``
  without ``content_hash`` and the weights bytes, so editing either file (the preprocessing, the
  backbone, a class name) is detected and a different description never shares a model id.

Version 1 files stay loadable: they pass the same schema, their weights hash is checked as
before, and their model id is unchanged (libraries indexed with them are not re-indexed). What
they cannot offer is protection of the description itself; re-saving such a model writes version 2.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from zssbir_core.models.backbone_names import BACKBONES
from zssbir_core.models.preprocessing import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
from zssbir_core.models.schema import Float, Int, List, Object, SchemaError, Str

FORMAT = "zssbir-checkpoint"
FORMAT_VERSION = 2
MAX_MODEL_JSON_BYTES = 4 << 20
MAX_EMBEDDING_DIM = 4096
MAX_CLASSES = 20_000
_V2_TAG = b"zssbir-checkpoint/2\0"

SCHEMA = Object(
    required={
        "format": Str(max_length=64, choices=(FORMAT,)),
        "format_version": Int(1, FORMAT_VERSION),
        "backbone": Str(max_length=64, choices=BACKBONES),
        "embedding_dim": Int(1, MAX_EMBEDDING_DIM, nullable=True),
        "num_classes": Int(0, MAX_CLASSES),
        "preprocessing": Object(required={
            "image_size": Int(MIN_IMAGE_SIZE, MAX_IMAGE_SIZE),
            "mean": List(Float(0.0, 1.0), min_items=3, max_items=3),
            "std": List(Float(1e-3, 10.0), min_items=3, max_items=3),
        }, max_depth=0),
        "classes": List(Str(max_length=256), max_items=MAX_CLASSES),
        "content_hash": Str(max_length=64, pattern="[0-9a-f]{64}"),
    },
    optional={
        "training": Object(required={}, max_depth=16),
        "metrics": Object(required={}, max_depth=16),
        "version": Str(max_length=64),
    },
    max_depth=16,
)


def parse_model_json(data: bytes) -> dict[str, Any]:
    """The checked description in ``data`` (the bytes of a ``model.json``); ``SchemaError`` if not."""
    try:
        meta = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise SchemaError(f"is not UTF-8 text ({error.reason} at byte {error.start})") from error
    except RecursionError as error:
        raise SchemaError("is nested too deeply") from error
    except ValueError as error:
        raise SchemaError(f"is not valid JSON ({error})") from error
    if isinstance(meta, dict) and isinstance(meta.get("format_version"), int) \
            and not isinstance(meta["format_version"], bool) and meta["format_version"] > FORMAT_VERSION \
            and meta.get("format") == FORMAT:
        raise SchemaError(f"has format version {meta['format_version']}, newer than this zssbir understands "
                          f"({FORMAT_VERSION}); update zssbir to use this model")
    return SCHEMA.check(meta, "")


def content_hash(meta: dict[str, Any], weights: bytes) -> str:
    """The ``content_hash`` that ``meta`` (its format version decides how) must hold for ``weights``."""
    if meta["format_version"] == 1:
        return hashlib.sha256(weights).hexdigest()
    described = {key: value for key, value in meta.items() if key != "content_hash"}
    digest = hashlib.sha256(_V2_TAG)
    digest.update(json.dumps(described, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii"))
    digest.update(b"\0")
    digest.update(weights)
    return digest.hexdigest()
