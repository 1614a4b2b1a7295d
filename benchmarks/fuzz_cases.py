"""The parts of ``fuzz_readers.py`` every target uses: the ``Target`` base class (case ``i`` is
reproducible from its seeded generator) and the mutations, byte-level (bit flips, boundary runs,
splices, truncation, extension) and JSON-level (a value replaced, deleted or added anywhere)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

BOUNDARY_INTS = (0, 1, -1, 2**31 - 1, -(2**31), 2**32 - 1, 2**63 - 1, 2**64 - 1, 255, 4096)

def flip_bits(data: bytearray, rng: random.Random, low: int = 0, high: int | None = None) -> None:
    high = len(data) if high is None else min(high, len(data))
    for _ in range(rng.choice((1, 1, 2, 4, 8, 32))):
        if high > low:
            position = rng.randrange(low, high)
            data[position] ^= 1 << rng.randrange(8)


def set_run(data: bytearray, rng: random.Random, low: int = 0, high: int | None = None) -> None:
    high = len(data) if high is None else min(high, len(data))
    if high <= low:
        return
    start = rng.randrange(low, high)
    length = rng.choice((1, 2, 4, 8, 16, 64))
    value = rng.choice((0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)))
    data[start:start + length] = bytes([value]) * len(data[start:start + length])


def _splice(data: bytearray, rng: random.Random) -> None:
    if len(data) < 4:
        return
    length = rng.randrange(1, max(2, min(len(data) // 2, 4096)))
    source = rng.randrange(0, len(data) - length + 1)
    target = rng.randrange(0, len(data) - length + 1)
    data[target:target + length] = data[source:source + length]


def mutate_bytes(data: bytes, rng: random.Random, *, hot: int = 0) -> bytes:
    """One random byte-level mutation; ``hot`` bytes at the start (a header) get most of them."""
    out = bytearray(data)
    kind = rng.choice(("flip", "flip", "set", "splice", "truncate", "extend"))
    in_header = hot and rng.random() < 0.7
    if kind == "flip":
        flip_bits(out, rng, 0, hot if in_header else None)
    elif kind == "set":
        set_run(out, rng, 0, hot if in_header else None)
    elif kind == "splice":
        _splice(out, rng)
    elif kind == "truncate":
        del out[rng.randrange(0, max(1, len(out))):]
    else:
        out += bytes(rng.randrange(256) for _ in range(rng.choice((1, 8, 100))))
    return bytes(out)


def _random_value(rng: random.Random) -> Any:
    return rng.choice([
        None, True, False, 0, -1, 1, 2**31, 2**63, -(2**63), 10**30, 1e308, -1e308, float("nan"), float("inf"),
        0.5, "", "x" * rng.choice((1, 300, 100_000)), "../../etc/passwd", [], [1, 2], {}, {"a": None},
        json.loads("[" * 400 + "]" * 400), ["c"] * 30_000,
    ])


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value[:20]):
            found += _paths(child, prefix + (index,))
    return found


def mutate_json(value: Any, rng: random.Random) -> Any:
    """Replace, delete or add a random value somewhere in a parsed JSON document."""
    value = json.loads(json.dumps(value))
    path = rng.choice(_paths(value))
    if not path:
        return _random_value(rng)
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    action = rng.random()
    if action < 0.15 and isinstance(parent, dict):
        parent.pop(path[-1], None)
    elif action < 0.25 and isinstance(parent, dict):
        parent[f"extra{rng.randrange(100)}"] = _random_value(rng)
    else:
        parent[path[-1]] = _random_value(rng)
    return value


class Target:
    """Prepared once per child; ``run(i)`` makes and reads case ``i``."""

    def __init__(self, name: str, templates: Path, scratch: Path) -> None:
        self.name = name
        self.templates = templates
        self.scratch = scratch

    def rng(self, case: int) -> random.Random:
        return random.Random(f"{self.name}:{case}")
