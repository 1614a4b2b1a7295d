"""Fuzz the readers of files that can come from elsewhere or be damaged on disk (not a unit test).

Targets (``--targets``), each fed through the path the app and the command line use:

- ``model-json``: ``model.json`` of a real (random-weights) Lite0 checkpoint, then
  ``load_checkpoint`` (half of the JSON-level mutations get a matching content hash, so that they
  reach the schema-valid paths: network building and the safetensors check);
- ``safetensors``: that checkpoint's weights bytes, then exactly what ``load_checkpoint`` does
  after the hash check: header check, comparison with the network, ``safetensors`` load,
  ``load_state_dict``;
- ``hnsw`` and ``manifest``: the saved index file and ``index.json`` of a small real library, then
  ``PhotoLibrary.open`` + ``vector_index()`` (load or rebuild) + a search;
- ``sqlite``: pages of that library's ``library.sqlite``, then open, list, count, search.

Mutations: bit flips, byte runs set to boundary values, truncation, splices (a chunk copied over
another), header fields overwritten with boundary values (hnsw, safetensors length), and for JSON
random type swaps (null, lists, huge and negative numbers, strings, deep nesting, NaN).

Each batch of cases runs in a child process (memory capped with RLIMIT_AS) that reports each case
on its own line, so a segfault or an abort ends only its batch: the parent counts the case it died
in as a crash (rc < 0) and starts the next batch after it. Outcomes per target: ``accepted`` (read
fine: a mutation that kept the file valid, or a rebuild), ``refused`` (a ``ZssbirError``: the
clean refusal), ``unexpected`` (any other exception, with its type), ``crash`` (signal), ``hang``.
Case ``i`` of a target is reproducible: ``--replay TARGET:i`` runs it in this process.

    nice -n 19 python benchmarks/fuzz_readers.py --cases 1000 --output fuzz.json
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import queue
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGETS = ("model-json", "safetensors", "hnsw", "manifest", "sqlite")
BOUNDARY_INTS = (0, 1, -1, 2**31 - 1, -(2**31), 2**32 - 1, 2**63 - 1, 2**64 - 1, 255, 4096)
CASE_TIMEOUT_S = 120.0


# ----------------------------------------------------------------------------- templates


def build_templates(root: Path) -> None:
    """A checkpoint (``root/ckpt``) and a small indexed library (``root/library``)."""
    from PIL import Image, ImageDraw

    from zssbir_core.library import PhotoLibrary
    from zssbir_core.models import ZSSBIRNet, build_backbone, load_model, save_checkpoint

    net = ZSSBIRNet(build_backbone("efficientnet_lite0", pretrained=False), embedding_dim=8, num_classes=2)
    save_checkpoint(net, root / "ckpt", classes=["cat", "dog"], training={"recipe": "fuzz"}, metrics={"map_all": 0.5})
    rng = random.Random(0)
    photos = root / "photos"
    photos.mkdir()
    for number in range(40):
        image = Image.new("RGB", (48, 48), tuple(rng.randrange(256) for _ in range(3)))
        ImageDraw.Draw(image).rectangle((rng.randrange(20), rng.randrange(20), 40, 40),
                                        fill=tuple(rng.randrange(256) for _ in range(3)))
        image.save(photos / f"p{number:02d}.jpg")
    embedder = load_model("lite0-imagenet", device="cpu", image_size=32)
    with PhotoLibrary.open(root / "library") as library:
        library.add_folder(photos)
        for _ in library.index(embedder, workers=1):
            pass
        library.vector_index()


# ----------------------------------------------------------------------------- mutations


def _flip_bits(data: bytearray, rng: random.Random, low: int = 0, high: int | None = None) -> None:
    high = len(data) if high is None else min(high, len(data))
    for _ in range(rng.choice((1, 1, 2, 4, 8, 32))):
        if high > low:
            position = rng.randrange(low, high)
            data[position] ^= 1 << rng.randrange(8)


def _set_run(data: bytearray, rng: random.Random, low: int = 0, high: int | None = None) -> None:
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
        _flip_bits(out, rng, 0, hot if in_header else None)
    elif kind == "set":
        _set_run(out, rng, 0, hot if in_header else None)
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


# ----------------------------------------------------------------------------- cases


class Target:
    """Prepared once per child; ``run(i)`` makes and reads case ``i``."""

    def __init__(self, name: str, templates: Path, scratch: Path) -> None:
        self.name = name
        self.templates = templates
        self.scratch = scratch

    def rng(self, case: int) -> random.Random:
        return random.Random(f"{self.name}:{case}")


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


class LibraryTarget(Target):
    """Copies the template library, mutates one file, then opens, searches and closes it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        import numpy as np

        self.query = np.random.default_rng(0).standard_normal(1280).astype("float32")
        self.source = self.templates / "library"

    def fresh(self, case: int) -> Path:
        target = self.scratch / f"lib-{case}"
        shutil.copytree(self.source, target, ignore=shutil.ignore_patterns("thumbnails"))
        return target

    def exercise(self, directory: Path) -> str:
        from zssbir_core.library import PhotoLibrary

        library = PhotoLibrary.open(directory)
        try:
            library.folders()
            library.photo_count()
            library.skipped()
            library.search_vectors(self.query / max(float((self.query ** 2).sum()) ** 0.5, 1e-9), k=5)
            library.search_vectors(self.query, k=5)  # a second search after any rebuild
        finally:
            library.close()
        return "accepted"

    def run(self, case: int) -> str:
        directory = self.fresh(case)
        try:
            self.mutate(directory, self.rng(case))
            return self.exercise(directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def mutate(self, directory: Path, rng: random.Random) -> None:
        raise NotImplementedError


class HnswTarget(LibraryTarget):
    # hnswlib's saveIndex header: offsetLevel0, max_elements, cur_element_count, size_data_per_element,
    # label_offset, offsetData (size_t), maxlevel, enterpoint_node (int), maxM, maxM0, M (size_t),
    # mult (double), ef_construction (size_t).
    FIELDS = ((0, 8), (8, 8), (16, 8), (24, 8), (32, 8), (40, 8), (48, 4), (52, 4), (56, 8), (64, 8), (72, 8),
              (80, 8), (88, 8))

    def mutate(self, directory: Path, rng: random.Random) -> None:
        path = next((directory / "index").glob("index-*.hnsw"))
        data = path.read_bytes()
        if rng.random() < 0.4:
            offset, size = rng.choice(self.FIELDS)
            value = rng.choice(BOUNDARY_INTS + (rng.randrange(1, 64),)) % (1 << (8 * size))
            data = data[:offset] + value.to_bytes(size, "little") + data[offset + size:]
        else:
            data = mutate_bytes(data, rng, hot=96)
        path.write_bytes(data)


class ManifestTarget(LibraryTarget):
    def mutate(self, directory: Path, rng: random.Random) -> None:
        path = directory / "index" / "index.json"
        text = path.read_bytes()
        if rng.random() < 0.5:
            path.write_bytes(mutate_bytes(text, rng))
        else:
            path.write_text(json.dumps(mutate_json(json.loads(text), rng)))


class SqliteTarget(LibraryTarget):
    def mutate(self, directory: Path, rng: random.Random) -> None:
        path = directory / "library.sqlite"
        data = bytearray(path.read_bytes())
        page = int.from_bytes(data[16:18], "big") or 65536
        pages = max(1, len(data) // page)
        number = 0 if rng.random() < 0.2 else rng.randrange(pages)
        low, high = number * page, (number + 1) * page
        kind = rng.choice(("flip", "flip", "set", "zero-page", "copy-page", "truncate"))
        if kind == "flip":
            _flip_bits(data, rng, low, high)
        elif kind == "set":
            _set_run(data, rng, low, high)
        elif kind == "zero-page":
            data[low:high] = bytes(len(data[low:high]))
        elif kind == "copy-page":
            other = rng.randrange(pages) * page
            data[low:high] = data[other:other + page][: len(data[low:high])]
        else:
            del data[rng.randrange(1, pages + 1) * page - (page if rng.random() < 0.5 else rng.randrange(page)):]
        path.write_bytes(bytes(data))


TARGET_CLASSES = {"model-json": ModelJsonTarget, "safetensors": SafetensorsTarget, "hnsw": HnswTarget,
                  "manifest": ManifestTarget, "sqlite": SqliteTarget}


def run_case(target: Target, case: int) -> dict[str, Any]:
    from zssbir_core.errors import ZssbirError

    try:
        outcome = target.run(case)
        return {"case": case, "outcome": outcome}
    except ZssbirError as error:
        return {"case": case, "outcome": "refused", "error": str(error).splitlines()[0][:300] if str(error) else ""}
    except BaseException as error:  # noqa: BLE001 - what the fuzzer is looking for
        frames = traceback.extract_tb(error.__traceback__)
        where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames) if "zssbir" in f.filename), "")
        return {"case": case, "outcome": "unexpected", "error": f"{type(error).__name__}: {str(error)[:200]}",
                "where": where}


# ----------------------------------------------------------------------------- child and parent


def child(args: argparse.Namespace) -> int:
    limit = args.memory_gb << 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    with tempfile.TemporaryDirectory(prefix="zssbir-fuzz-") as scratch:
        target = TARGET_CLASSES[args.target](args.target, Path(args.templates), Path(scratch))
        print(json.dumps({"ready": True}), flush=True)
        for case in range(args.start, args.start + args.count):
            print(json.dumps({"start": case}), flush=True)
            print(json.dumps(run_case(target, case)), flush=True)
    return 0


def run_batch(target: str, start: int, count: int, templates: Path, memory_gb: int) -> list[dict[str, Any]]:
    """Run cases ``start .. start+count-1`` in child processes, restarting after each crash."""
    results: list[dict[str, Any]] = []
    case = start
    end = start + count
    while case < end:
        command = [sys.executable, __file__, "--child", "--target", target, "--start", str(case),
                   "--count", str(end - case), "--templates", str(templates), "--memory-gb", str(memory_gb)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, "PYTHONPATH": str(REPO)})
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            for line in process.stdout:  # type: ignore[union-attr]
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        threading.Thread(target=process.stderr.read, daemon=True).start()  # type: ignore[union-attr]
        current: int | None = None
        hung = False
        while True:
            try:
                line = lines.get(timeout=CASE_TIMEOUT_S + (300 if current is None else 0))
            except queue.Empty:
                hung = True
                process.kill()
                break
            if line is None:
                break
            message = json.loads(line)
            if "start" in message:
                current = message["start"]
            elif "outcome" in message:
                results.append(message)
                current = None
                case = message["case"] + 1
        rc = process.wait()
        if current is not None:
            outcome = "hang" if hung else ("crash" if rc < 0 else "unexpected")
            results.append({"case": current, "outcome": outcome, "error": f"child ended with rc {rc}"})
            case = current + 1
        elif rc != 0 and case < end:
            raise RuntimeError(f"the {target} child failed before its first case (rc {rc})")
    return results


def summarise(results: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for target, cases in results.items():
        counts = collections.Counter(case["outcome"] for case in cases)
        kinds: dict[str, dict[str, Any]] = {}
        for case in cases:
            if case["outcome"] in ("unexpected", "crash", "hang"):
                key = f"{case['outcome']}: {case.get('error', '').split(':')[0]} {case.get('where', '')}".strip()
                entry = kinds.setdefault(key, {"count": 0, "cases": [], "example": case.get("error", "")})
                entry["count"] += 1
                if len(entry["cases"]) < 5:
                    entry["cases"].append(case["case"])
        summary[target] = {"cases": len(cases), **{k: counts.get(k, 0) for k in
                                                     ("accepted", "refused", "unexpected", "crash", "hang")},
                           "problems": kinds}
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--cases", type=int, default=500, help="cases per target")
    parser.add_argument("--batch", type=int, default=250, help="cases per child process")
    parser.add_argument("--memory-gb", type=int, default=6, help="address-space cap of each child")
    parser.add_argument("--output", type=Path, help="write the summary and every case here (JSON)")
    parser.add_argument("--replay", help="TARGET:CASE: run one case in this process and print it")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--templates", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    with tempfile.TemporaryDirectory(prefix="zssbir-fuzz-templates-") as root:
        templates = Path(root)
        os.environ["ZSSBIR_DATA_DIR"] = str(templates / "data")
        started = time.perf_counter()
        build_templates(templates)
        if args.replay:
            name, case = args.replay.split(":")
            with tempfile.TemporaryDirectory() as scratch:
                print(json.dumps(run_case(TARGET_CLASSES[name](name, templates, Path(scratch)), int(case))))
            return 0
        results: dict[str, list[dict[str, Any]]] = {}
        for target in args.targets:
            results[target] = []
            for start in range(0, args.cases, args.batch):
                results[target] += run_batch(target, start, min(args.batch, args.cases - start), templates,
                                             args.memory_gb)
            print(f"{target}: {json.dumps(summarise({target: results[target]})[target])}", file=sys.stderr)
        summary = summarise(results)
        report = {"command": " ".join(sys.argv), "load_average": os.getloadavg(),
                  "wall_s": round(time.perf_counter() - started, 1), "summary": summary}
        print(json.dumps(report, indent=1))
        if args.output:
            args.output.write_text(json.dumps({**report, "cases": results}, indent=1, default=str) + "\n")
        bad = sum(s["crash"] + s["hang"] + s["unexpected"] for s in summary.values())
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
