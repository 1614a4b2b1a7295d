"""Issue 21 item 6: a full disk when the index is saved. The disk is really full: the child runs in
its own user and mount namespace (``unshare -rm``) with the library on a small tmpfs that a filler
file has filled, so writes fail with ENOSPC at the OS boundary. Skipped, with the reason, where
the system does not allow unprivileged namespaces."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CHILD = textwrap.dedent("""
    import errno, logging, os, sys
    import numpy as np
    from zssbir_core.index import IndexMismatchError, HnswParams, vector_index_class
    from zssbir_core.library.index_cache import IndexCache
    from zssbir_core.library.lock import WriterLock
    from zssbir_core.library.store import LibraryStore, NewEmbedding

    logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="LOG %(message)s")
    folder = sys.argv[1]
    dim, count = 64, 3000
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(count, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = LibraryStore(__import__("pathlib").Path(folder) / "library.sqlite")
    store.set_meta("embedding_dim", str(dim))
    store.switch_model("m")
    store.write_embeddings("m", [NewEmbedding(f"/p/{i}.jpg", 1, 1, 1, 1, f"k{i}", v) for i, v in enumerate(vectors)])
    lock = WriterLock(__import__("pathlib").Path(folder) / "writer.lock")
    lock.acquire()
    os.makedirs(folder + "/index", exist_ok=True)
    with open(folder + "/filler", "wb") as filler:  # fill the disk to the last block
        try:
            while True:
                filler.write(b"\\0" * 65536)
                filler.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC, error
    cache = IndexCache(store, __import__("pathlib").Path(folder) / "index", lock, HnswParams())
    for attempt in range(2):  # this run's save, then the next run's: neither raises
        index = cache.current()
        cache.save()
        assert index.search(vectors[7], 1)[0][0] == store.vector_ids("m")[7]
        cache = IndexCache(store, cache.directory, lock, HnswParams())
    try:
        vector_index_class().load(cache.directory, model_id="m", generation=store.generation(), count=count, dim=dim)
        print("A COMPLETE INDEX WAS SAVED")
    except IndexMismatchError as error:
        print("NOTHING USABLE SAVED:", error)
    os.remove(folder + "/filler")
    cache = IndexCache(store, cache.directory, lock, HnswParams())
    cache.current()
    loaded = vector_index_class().load(cache.directory, model_id="m", generation=store.generation(), count=count, dim=dim)
    assert loaded.count == count
    print("SAVED AFTER SPACE CAME BACK")
""")


@pytest.mark.subprocess
@pytest.mark.parametrize("backend", ["exact", "hnswlib"])
def test_a_full_disk_at_index_save_loses_nothing_and_raises_nothing(tmp_path: Path, backend: str) -> None:
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed: no way to give the child a small file system")
    mount = tmp_path / "small"
    mount.mkdir()
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=4m tmpfs {mount}"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"unprivileged mount namespaces are not allowed here: {probe.stderr.strip()}")
    command = f"mount -t tmpfs -o size=3m tmpfs {mount} && exec {sys.executable} {script} {mount}"
    env = {"PATH": "/usr/bin:/bin", "ZSSBIR_INDEX": backend if backend == "exact" else "hnswlib",
           "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    child = subprocess.run(["unshare", "-rm", "sh", "-c", command], capture_output=True, text=True, timeout=120, env=env)
    assert child.returncode == 0, child.stdout + child.stderr
    assert "not saved" in child.stdout, "the failed save is logged"
    assert "NOTHING USABLE SAVED" in child.stdout, child.stdout
    assert "SAVED AFTER SPACE CAME BACK" in child.stdout


TRUNCATING_CHILD = textwrap.dedent("""
    import resource, signal, sys
    from pathlib import Path
    import numpy as np
    from zssbir_core.errors import LibraryError
    from zssbir_core.index import VectorIndex

    index = VectorIndex(32, model_id="m", capacity=4000)
    rows = np.random.default_rng(0).normal(size=(3000, 32)).astype(np.float32)
    index.add(list(range(3000)), rows / np.linalg.norm(rows, axis=1, keepdims=True))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
    folder = Path(sys.argv[1])
    try:
        index.save(folder, generation=1)
        print("SAVED", (folder / "index.json").exists())
    except LibraryError as error:
        print("REFUSED", error, (folder / "index.json").exists())
""")


@pytest.mark.subprocess
def test_hnswlib_writing_a_truncated_file_is_caught_before_it_is_hashed(tmp_path: Path) -> None:
    """hnswlib's C++ stream reports no write error. The child's file-size limit (RLIMIT_FSIZE, with
    SIGXFSZ ignored) makes its writes past 200 kB fail at the OS boundary, as a full disk does,
    while the small manifest still fits: the save must refuse the truncated file."""
    pytest.importorskip("hnswlib")
    script = tmp_path / "child.py"
    script.write_text(TRUNCATING_CHILD)
    child = subprocess.run([sys.executable, str(script), str(tmp_path / "index")], capture_output=True, text=True,
                           timeout=120)
    assert child.returncode == 0, child.stderr
    assert child.stdout.startswith("REFUSED") and "not written completely" in child.stdout, child.stdout
    assert child.stdout.strip().endswith("False"), "no manifest names the truncated file"
    assert not list((tmp_path / "index").glob("*.hnsw*")), "the truncated temporary file is removed"
