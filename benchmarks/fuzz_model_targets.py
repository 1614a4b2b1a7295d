"""The model-file targets of ``fuzz_readers.py``: ``model.json`` and the safetensors weights of a
real (random-weights) Lite0 checkpoint, read the way ``load_checkpoint`` reads them."""

from __future__ import annotations

import json
import struct
from typing import Any

from fuzz_cases import BOUNDARY_INTS, Target, mutate_bytes, mutate_json


class ModelJsonTarget(Target):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.meta = (self.templates / "ckpt" / "model.json").read_bytes()
        self.weights = (self.templates / "ckpt" / "model.safetensors").read_bytes()
        self.folder = self.scratch / "ckpt"
        self.folder.mkdir()
        (self.folder / "model.safetensors").write_bytes(self.weights)

    def run(self, case: int) -> str:
        from zssbir_core.models import load_checkpoint
        from zssbir_core.models.model_json import content_hash

        rng = self.rng(case)
        if rng.random() < 0.5:
            data = mutate_bytes(self.meta, rng)
        else:
            meta = mutate_json(json.loads(self.meta), rng)
            if isinstance(meta, dict) and rng.random() < 0.5:
                try:
                    meta["content_hash"] = content_hash({**meta, "format_version": 2}, self.weights)
                except (TypeError, ValueError, KeyError, RecursionError):
                    pass
            data = json.dumps(meta).encode()
        (self.folder / "model.json").write_bytes(data)
        load_checkpoint(self.folder)
        return "accepted"


class SafetensorsTarget(Target):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        from zssbir_core.models import read_checkpoint_info
        from zssbir_core.models.checkpoint import _network, expected_tensors

        self.weights = (self.templates / "ckpt" / "model.safetensors").read_bytes()
        (self.header_size,) = struct.unpack("<Q", self.weights[:8])
        info = read_checkpoint_info(self.templates / "ckpt")
        self.expected = expected_tensors(info)
        self.net = _network(info)

    def run(self, case: int) -> str:
        from safetensors.torch import load as load_safetensors

        from zssbir_core.models import safetensors_header

        rng = self.rng(case)
        hot = 8 + self.header_size
        choice = rng.random()
        if choice < 0.15:  # the length field itself
            data = struct.pack("<Q", rng.choice(BOUNDARY_INTS) % 2**64) + self.weights[8:]
        elif choice < 0.45:  # the header's JSON, re-serialised with a correct length
            header = mutate_json(json.loads(self.weights[8:hot]), rng)
            raw = json.dumps(header).encode()
            data = struct.pack("<Q", len(raw)) + raw + self.weights[hot:]
        else:
            data = mutate_bytes(self.weights, rng, hot=hot)
        where = f"case {case}"
        header = safetensors_header.read_header(data, where)
        safetensors_header.check_against(header, self.expected, where)
        try:
            self.net.load_state_dict(load_safetensors(data))
        except Exception as error:  # what load_checkpoint turns into ModelLoadError
            from zssbir_core.errors import ModelLoadError

            raise ModelLoadError(str(error)) from error
        return "accepted"
