"""Issue 21 item 9: a library on a read-only mount can be searched and listed. SQLite in WAL mode
needs its ``-shm`` file, which a read-only folder cannot hold, so the store opens such a library
read-only (``mode=ro``, and ``immutable=1`` when no ``-wal``/``-shm`` file is there to share).

Tests run as root here, and root ignores ``chmod``: the real test puts the library on a read-only
bind mount in an ``unshare -rm`` child (EROFS stops root too) and is skipped, with the reason,
where unprivileged namespaces are not allowed; the ``chmod`` variant runs only for other users."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from zssbir_core.errors import LibraryError
from zssbir_core.index import HnswParams
from zssbir_core.library.index_cache import IndexCache
from zssbir_core.library.lock import WriterLock
from zssbir_core.library.store import DATABASE_NAME, LibraryStore, NewEmbedding

REPO = Path(__file__).resolve().parents[3]
DIM = 16


def make_library(folder: Path, *, save_index: bool = True) -> np.ndarray:
    """A library folder with 40 photos in one watched folder, closed cleanly (no -wal, no -shm)."""
    folder.mkdir(parents=True, exist_ok=True)
    vectors = np.random.default_rng(1).normal(size=(40, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = LibraryStore(folder / DATABASE_NAME)
    store.replace_folders("/photos", [])
    store.set_meta("embedding_dim", str(DIM))
    store.switch_model("m")
    store.write_embeddings("m", [NewEmbedding(f"/photos/{i}.jpg", 1, 1, 1, 1, f"{i:064x}", v)
                                 for i, v in enumerate(vectors)])
    if save_index:
        lock = WriterLock(folder / "writer.lock")
        lock.acquire()
        IndexCache(store, folder / "index", lock, HnswParams()).current()
        lock.release()
    store.close()
    return vectors


CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    from pathlib import Path
    from zssbir_core.cli import main
    from zssbir_core.errors import LibraryError
    from zssbir_core.library import PhotoLibrary

    folder = Path(sys.argv[1])
    vectors = np.load(sys.argv[2])
    try:
        open(folder / "probe", "w")
        print("WRITABLE")
    except OSError as error:
        print("READ-ONLY", error.errno)
    with PhotoLibrary.open(folder, create=False) as library:
        hits = library.search_vectors(vectors[5], 3)
        print("SEARCH", hits[0].path, library.photo_count(), [str(f.path) for f in library.folders()])
        try:
            library.add_folder("/elsewhere")
            print("WROTE")
        except LibraryError as error:
            print("REFUSED", error)
    print("CLI", main(["library", "--library", str(folder), "--json"]))
""")


def _child_in_read_only_mount(tmp_path: Path, folder: Path, vectors: np.ndarray) -> str:
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed: no read-only mount for the test")
    np.save(tmp_path / "vectors.npy", vectors)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    command = (f"mount --bind -o ro {folder} {folder} && "
               f"exec {sys.executable} {script} {folder} {tmp_path / 'vectors.npy'}")
    child = subprocess.run(["unshare", "-rm", "sh", "-c", command], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": str(REPO)})
    if child.returncode != 0 and "mount" in child.stderr and "Traceback" not in child.stderr:
        pytest.skip(f"unprivileged mount namespaces are not allowed here: {child.stderr.strip()}")
    assert child.returncode == 0, child.stdout + child.stderr
    return child.stdout


@pytest.mark.subprocess
@pytest.mark.parametrize("save_index", [True, False], ids=["index saved", "index to rebuild in memory"])
def test_a_library_on_a_read_only_mount_is_searched_and_listed(tmp_path: Path, save_index: bool) -> None:
    folder = tmp_path / "library"
    vectors = make_library(folder, save_index=save_index)
    before = sorted(p.name for p in folder.iterdir())
    out = _child_in_read_only_mount(tmp_path, folder, vectors)
    assert "READ-ONLY 30" in out, "the mount is really read-only (EROFS)"
    assert "SEARCH /photos/5.jpg 40 ['/photos']" in out, out
    assert "REFUSED" in out and "WROTE" not in out, out
    report = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    assert report["photos"] == 40 and report["folders"][0]["path"] == "/photos"
    assert "CLI 0" in out
    assert sorted(p.name for p in folder.iterdir()) == before, "nothing was written"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores chmod: see the bind-mount test")
def test_a_library_in_a_folder_without_write_permission_is_searched(tmp_path: Path) -> None:
    from zssbir_core.library import PhotoLibrary

    folder = tmp_path / "library"
    vectors = make_library(folder)
    folder.chmod(0o555)
    try:
        with PhotoLibrary.open(folder, create=False) as library:
            assert library.search_vectors(vectors[5], 1)[0].path == Path("/photos/5.jpg")
            with pytest.raises(LibraryError):
                library.add_folder("/elsewhere")
    finally:
        folder.chmod(0o755)
