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
- ``sqlite``: pages of that library's ``library.sqlite``, then open, list, count, search;
- ``exact`` and ``exact-manifest``: ``exact-<generation>.npz`` and ``exact.json`` of the same
  library indexed with the exact (numpy) index, as above; a third of the npz cases rewrite the
  arrays (ids reversed, repeated or negative, NaN vectors, other dtypes or shapes) with a manifest
  made to match (size and SHA-256), so that only the checks against the database can tell;
- ``config``: the ``standard`` recipe mutated as a ``--config`` JSON file (JSON and byte level,
  NaN and infinities included), then ``load_config_file``; an accepted one must meet the schema.

Every library case also compares the top 5 of its search with brute force over the database's
vectors: a different answer is counted as ``wrong``.

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
import hashlib
import json
import os
import queue
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from fuzz_cases import BOUNDARY_INTS, Target, flip_bits, mutate_bytes, mutate_json, set_run  # this script's folder
from fuzz_model_targets import ModelJsonTarget, SafetensorsTarget

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGETS = ("model-json", "safetensors", "hnsw", "manifest", "sqlite", "exact", "exact-manifest", "config")
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
    shutil.copytree(root / "library", root / "library-exact", ignore=shutil.ignore_patterns("index", "thumbnails"))
    os.environ["ZSSBIR_INDEX"] = "exact"
    try:
        with PhotoLibrary.open(root / "library-exact") as library:
            library.vector_index()
    finally:
        del os.environ["ZSSBIR_INDEX"]


# ----------------------------------------------------------------------------- cases


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
            hits = library.search_vectors(self.query, k=5)  # a second search after any rebuild
            return "accepted" if [h.id for h in hits] == self.truth(library) else "wrong"
        finally:
            library.close()

    def truth(self, library: Any) -> list[int]:
        """The top 5 ids by brute force over the database's vectors."""
        import numpy as np

        model, dim = library.model_id, int(library.store.meta("embedding_dim") or 0)
        pairs = [(i, v) for ids, vs in library.store.iter_vectors(model, dim) for i, v in zip(ids, vs)]
        scores = [(-float(v @ self.query) / max(float(np.linalg.norm(v)), 1e-12), i) for i, v in pairs]
        return [i for _, i in sorted(scores)[:5]]

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
        self.mutate_file(directory / "index" / "index.json", rng)

    @staticmethod
    def mutate_file(path: Path, rng: random.Random) -> None:
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
            flip_bits(data, rng, low, high)
        elif kind == "set":
            set_run(data, rng, low, high)
        elif kind == "zero-page":
            data[low:high] = bytes(len(data[low:high]))
        elif kind == "copy-page":
            other = rng.randrange(pages) * page
            data[low:high] = data[other:other + page][: len(data[low:high])]
        else:
            del data[rng.randrange(1, pages + 1) * page - (page if rng.random() < 0.5 else rng.randrange(page)):]
        path.write_bytes(bytes(data))


class ExactTarget(LibraryTarget):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        os.environ["ZSSBIR_INDEX"] = "exact"  # this child reads and rebuilds with the exact index
        self.source = self.templates / "library-exact"

    def mutate(self, directory: Path, rng: random.Random) -> None:
        path = next((directory / "index").glob("exact-*.npz"))
        choice = rng.random()
        if choice < 0.4:
            path.write_bytes(mutate_bytes(path.read_bytes(), rng, hot=64))
            return
        if choice < 0.7:
            data = mutate_bytes(path.read_bytes(), rng, hot=64)
        else:
            data = self.rewritten_arrays(path, rng)
        path.write_bytes(data)
        manifest_path = directory / "index" / "exact.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["index_bytes"] = len(data)
        if "index_sha256" in manifest:  # absent in the format before issue 21
            manifest["index_sha256"] = hashlib.sha256(data).hexdigest()
        manifest_path.write_text(json.dumps(manifest))

    @staticmethod
    def rewritten_arrays(path: Path, rng: random.Random) -> bytes:
        import io

        import numpy as np

        with np.load(path) as saved:
            ids, vectors = saved["ids"].copy(), saved["vectors"].copy()
        kind = rng.choice(("reverse", "repeat", "negative", "nan", "dtype", "shape", "swap-rows"))
        if kind == "reverse":
            ids = ids[::-1].copy()
        elif kind == "repeat":
            ids[1] = ids[0]
        elif kind == "negative":
            ids[rng.randrange(len(ids))] = -rng.randrange(1, 2**62)
        elif kind == "nan":
            vectors[rng.randrange(len(vectors))] = np.nan
        elif kind == "dtype":
            vectors = vectors.astype(np.float64)
        elif kind == "shape":
            vectors = vectors[:, : vectors.shape[1] // 2]
        else:
            vectors[[0, 1]] = vectors[[1, 0]]
        buffer = io.BytesIO()
        np.savez(buffer, ids=ids, vectors=vectors)
        return buffer.getvalue()


class ExactManifestTarget(ExactTarget):
    def mutate(self, directory: Path, rng: random.Random) -> None:
        ManifestTarget.mutate_file(directory / "index" / "exact.json", rng)


class ConfigTarget(Target):
    """The ``standard`` recipe, mutated, as a ``--config`` file; an accepted one must meet the schema."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        from importlib import resources

        self.text = (resources.files("zssbir_core.training") / "recipes" / "standard.json").read_bytes()
        self.path = self.scratch / "config.json"

    def run(self, case: int) -> str:
        from zssbir_core.training.config import load_config_file, load_recipe
        from zssbir_core.training.config_schema import check_settings

        rng = self.rng(case)
        choice = rng.random()
        if choice < 0.2:
            self.path.write_bytes(mutate_bytes(self.text, rng))
        elif choice < 0.5:  # a number scaled by up to 1000x either way: near the bounds, in and out
            settings = json.loads(self.text)
            name = rng.choice([k for k, v in settings.items() if isinstance(v, (int, float)) and not isinstance(v, bool)])
            value = (settings[name] or 1) * 10 ** rng.uniform(-3, 3) * rng.choice((1, 1, 1, -1))
            settings[name] = round(value) if isinstance(settings[name], int) and rng.random() < 0.7 else value
            self.path.write_text(json.dumps(settings))
        else:
            settings = json.loads(self.text)
            for _ in range(rng.choice((1, 1, 2, 4))):
                settings = mutate_json(settings, rng)
            self.path.write_text(json.dumps(settings))  # NaN and Infinity written as JSON's extensions
        config = load_config_file(load_recipe("quick"), self.path).to_dict()
        check_settings(config)
        json.dumps(config, allow_nan=False)
        return "accepted"


TARGET_CLASSES = {"model-json": ModelJsonTarget, "safetensors": SafetensorsTarget, "hnsw": HnswTarget,
                  "manifest": ManifestTarget, "sqlite": SqliteTarget, "exact": ExactTarget,
                  "exact-manifest": ExactManifestTarget, "config": ConfigTarget}


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
            if case["outcome"] in ("wrong", "unexpected", "crash", "hang"):
                key = f"{case['outcome']}: {case.get('error', '').split(':')[0]} {case.get('where', '')}".strip()
                entry = kinds.setdefault(key, {"count": 0, "cases": [], "example": case.get("error", "")})
                entry["count"] += 1
                if len(entry["cases"]) < 5:
                    entry["cases"].append(case["case"])
        summary[target] = {"cases": len(cases), **{k: counts.get(k, 0) for k in
                                                     ("accepted", "refused", "wrong", "unexpected", "crash", "hang")},
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
        bad = sum(s["crash"] + s["hang"] + s["unexpected"] + s["wrong"] for s in summary.values())
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
