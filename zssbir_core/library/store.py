"""The library's SQLite database: the source of truth for folders, photos, vectors and skips.

One connection per store, shared by threads under a lock; WAL journal so that readers in other
processes never block, and every change is one transaction, so a killed process loses at most
the batch it was writing.

The file is adopted only if it is empty (a new library) or a zssbir library; another program's
SQLite file is refused. Any SQLite failure (a damaged page, a file that is not a database)
becomes a ``LibraryError`` with a clear message.

A library whose folder (or database file) cannot be written, on a read-only mount say, is opened
read-only: SQLite's ``mode=ro``, and ``immutable=1`` when no ``-wal``/``-shm`` file is there (WAL
needs a ``-shm`` file, which a read-only folder cannot hold). Searching and listing work; any
change raises ``LibraryError``. Whether the folder can be written is asked of the OS (``os.access``,
which answers EROFS on a read-only mount even for root, and honours permissions for other users).

Paths are stored as text; a path whose name is not valid UTF-8 (``os.fsdecode`` keeps its bad
bytes as surrogate escapes) is stored with each bad byte as NUL and two hex digits. No file name
holds a NUL, so the form is reversible and valid names are stored unchanged.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zssbir_core.errors import LibraryError
from zssbir_core.library.records import SkippedFile

SCHEMA_VERSION = 1
DATABASE_NAME = "library.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS folders (path TEXT PRIMARY KEY, added_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS photos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    thumb_key TEXT NOT NULL,
    indexed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS embeddings (
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (photo_id, model_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS embeddings_by_model ON embeddings (model_id, photo_id);
CREATE TABLE IF NOT EXISTS skipped (
    path TEXT PRIMARY KEY,
    size INTEGER,
    mtime_ns INTEGER,
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class StoredPhoto:
    """A photo row as the indexer compares it with the disk."""

    id: int
    path: str
    size: int
    mtime_ns: int
    thumb_key: str


@dataclass(frozen=True)
class NewEmbedding:
    """One embedded file, ready to be written: its facts on disk and its vector."""

    path: str
    size: int
    mtime_ns: int
    width: int
    height: int
    thumb_key: str
    vector: np.ndarray


_ESCAPED = re.compile("\0([0-9a-f]{2})")


def to_db(path: str) -> str:
    """The stored form of a path (unchanged unless it holds surrogate escapes)."""
    if path.isascii():
        return path
    return "".join(f"\0{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else c for c in path)


def from_db(text: str) -> str:
    """The path (with surrogate escapes, as ``os.fsdecode`` gives it) of a stored form."""
    return text if "\0" not in text else _ESCAPED.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), text)


def prefix_bounds(folder: str) -> tuple[str, str]:
    """Range (low, high) of paths strictly inside ``folder``: ``low < path < high``."""
    base = folder.rstrip("/\\")
    return base + "/", base + "0"  # "0" is the character after "/"


class LibraryStore:
    """Typed access to ``library.sqlite``; every method is thread-safe."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        """Open ``path``; with ``create``, a missing or empty file becomes a new library."""
        self.path = path
        self._lock = threading.RLock()
        if not create and not path.is_file():
            raise LibraryError(f"{path.parent} holds no zssbir library")
        self.read_only = path.is_file() and not _writable(path)
        try:
            self._db = sqlite3.connect(_read_only_uri(path) if self.read_only else path, timeout=30.0,
                                       check_same_thread=False, isolation_level=None, uri=self.read_only)
            self._db.text_factory = _text  # damaged text must not raise in the middle of a query
        except sqlite3.Error as error:
            raise LibraryError(f"the library database {path} cannot be opened: {error}") from None
        try:
            with self._damage_is_an_error():
                self._open_schema(path)
        except BaseException:
            self._db.close()
            raise

    def _open_schema(self, path: Path) -> None:
        """Check (or create) the schema; a foreign or newer database raises LibraryError."""
        self._db.execute("PRAGMA busy_timeout = 30000")
        if self.read_only:
            self._check_read_only_schema(path)
            return
        with self.transaction() as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and not _is_library(db, tables):
                raise LibraryError(f"{path} is not a zssbir library database (another program's file?); "
                                   "it is left as it is")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if version is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                db.execute("INSERT INTO meta VALUES ('generation', '0')")
            elif not str(version[0]).isdigit():
                raise LibraryError(f"{path} has an unknown library format {version[0]!r}")
            elif int(version[0]) > SCHEMA_VERSION:
                raise LibraryError(
                    f"{path.parent} was written by a newer zssbir (library format {version[0]}); update zssbir"
                )
            generation = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
            if generation is None or not str(generation[0]).isdigit():
                # only a cache counter: a value no saved index can hold makes the index rebuild
                db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(time.time_ns()),))
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA foreign_keys = ON")

    def _check_read_only_schema(self, path: Path) -> None:
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables or not _is_library(self._db, tables):
            raise LibraryError(f"{path} is not a zssbir library database, and its folder cannot be written")
        version = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if version is None or not str(version[0]).isdigit() or int(version[0]) != SCHEMA_VERSION:
            raise LibraryError(f"{path.parent} is read-only and holds library format {version and version[0]!r}, "
                               f"not {SCHEMA_VERSION}: open it where it can be written once")
        self._db.execute("PRAGMA query_only = ON")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locking) transaction, committed on success, rolled back on error."""
        with self._lock, self._damage_is_an_error():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple]:
        with self._lock, self._damage_is_an_error():
            return self._db.execute(sql, parameters).fetchall()

    @contextmanager
    def _damage_is_an_error(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise LibraryError(f"the library database {self.path} is busy: {error}") from None
            raise LibraryError(f"the library database {self.path} cannot be read or written: {error}") from None
        except (sqlite3.Error, UnicodeError) as error:  # a damaged schema's text fails to decode
            raise LibraryError(
                f"the library database {self.path} is damaged ({error}); move the library folder aside "
                "and index your folders into a new one"
            ) from None

    # -- meta --------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str | None) -> None:
        with self.transaction() as db:
            _set_meta(db, key, value)

    def generation(self) -> int:
        """A counter raised by every change to photos or vectors (the index records it)."""
        text = self.meta("generation") or "0"
        if not text.isdigit():
            raise LibraryError(f"the library database {self.path} is damaged (generation {text!r})")
        return int(text)

    # -- folders -----------------------------------------------------------------------------

    def folder_paths(self) -> list[str]:
        return [from_db(row[0]) for row in self._query("SELECT path FROM folders ORDER BY path")]

    def photo_count_in(self, folder: str) -> int:
        low, high = prefix_bounds(to_db(folder))
        return self._query("SELECT COUNT(*) FROM photos WHERE path > ? AND path < ?", (low, high))[0][0]

    def replace_folders(self, add: str, remove: Iterable[str]) -> None:
        """Watch ``add`` instead of the folders in ``remove`` (folders it contains)."""
        with self.transaction() as db:
            db.executemany("DELETE FROM folders WHERE path = ?", [(to_db(path),) for path in remove])
            db.execute("INSERT OR IGNORE INTO folders VALUES (?, ?)", (to_db(add), time.time()))

    def remove_folder(self, folder: str) -> tuple[list[int], list[str]]:
        """Stop watching ``folder`` and drop its photos; returns their ids and thumbnail keys."""
        folder = to_db(folder)
        low, high = prefix_bounds(folder)
        with self.transaction() as db:
            rows = db.execute("SELECT id, thumb_key FROM photos WHERE path > ? AND path < ?", (low, high)).fetchall()
            db.execute("DELETE FROM photos WHERE path > ? AND path < ?", (low, high))
            db.execute("DELETE FROM skipped WHERE path = ? OR (path > ? AND path < ?)", (folder, low, high))
            db.execute("DELETE FROM folders WHERE path = ?", (folder,))
            if rows:
                _bump_generation(db)
        return [row[0] for row in rows], [row[1] for row in rows]

    # -- photos ------------------------------------------------------------------------------

    def photo_count(self) -> int:
        return self._query("SELECT COUNT(*) FROM photos")[0][0]

    def photo_row(self, photo_id: int) -> tuple | None:
        rows = self._query(
            "SELECT id, path, size, mtime_ns, width, height, thumb_key, indexed_at FROM photos WHERE id = ?",
            (int(photo_id),),
        )
        return (rows[0][0], from_db(rows[0][1]), *rows[0][2:]) if rows else None

    def id_of(self, path: str) -> int | None:
        rows = self._query("SELECT id FROM photos WHERE path = ?", (to_db(path),))
        return rows[0][0] if rows else None

    def paths_of(self, ids: Sequence[int]) -> dict[int, str]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._query(f"SELECT id, path FROM photos WHERE id IN ({marks})", [int(i) for i in ids])
        return {photo_id: from_db(path) for photo_id, path in rows}

    def ids_in_folders(self, folders: Sequence[str]) -> set[int]:
        ids: set[int] = set()
        for folder in folders:
            low, high = prefix_bounds(to_db(folder))
            ids.update(row[0] for row in self._query("SELECT id FROM photos WHERE path > ? AND path < ?", (low, high)))
        return ids

    def stored_photos(self, model_id: str) -> dict[str, tuple[StoredPhoto, bool]]:
        """Every photo by path, with whether it has a vector of ``model_id``."""
        rows = self._query(
            "SELECT p.id, p.path, p.size, p.mtime_ns, p.thumb_key, e.photo_id IS NOT NULL FROM photos p "
            "LEFT JOIN embeddings e ON e.photo_id = p.id AND e.model_id = ?",
            (model_id,),
        )
        photos = (StoredPhoto(row[0], from_db(row[1]), *row[2:5]) for row in rows)
        return {photo.path: (photo, bool(row[5])) for photo, row in zip(photos, rows)}

    def move_photos(self, moves: Sequence[tuple[int, str]]) -> None:
        """Give photos new paths (files moved on disk, same content); vectors are kept."""
        if moves:
            with self.transaction() as db:
                db.executemany("UPDATE photos SET path = ? WHERE id = ?", [(to_db(path), i) for i, path in moves])

    def write_embeddings(self, model_id: str, items: Sequence[NewEmbedding]) -> tuple[list[int], int, list[str]]:
        """Insert or update photos with their new vectors in one transaction.

        A file whose size or mtime changed loses its vectors of every model. Returns the photo
        ids (in order), the new generation and the thumbnail keys that are no longer used.
        """
        if any(not np.isfinite(item.vector).all() for item in items):
            raise LibraryError("the model gave vectors that are not finite numbers (NaN or infinity), which "
                               "cannot be searched; nothing of this batch is stored. Use another model "
                               "(a diverged fine-tuning gives such vectors)")
        ids: list[int] = []
        stale_thumbs: list[str] = []
        now = time.time()
        with self.transaction() as db:
            for item in items:
                path = to_db(item.path)
                row = db.execute("SELECT id, size, mtime_ns, thumb_key FROM photos WHERE path = ?",
                                 (path,)).fetchone()
                if row is None:
                    cursor = db.execute(
                        "INSERT INTO photos (path, size, mtime_ns, width, height, thumb_key, indexed_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (path, item.size, item.mtime_ns, item.width, item.height, item.thumb_key, now),
                    )
                    photo_id = int(cursor.lastrowid)
                else:
                    photo_id = int(row[0])
                    if (row[1], row[2]) != (item.size, item.mtime_ns):
                        db.execute("DELETE FROM embeddings WHERE photo_id = ?", (photo_id,))
                    if row[3] != item.thumb_key:
                        stale_thumbs.append(row[3])
                    db.execute(
                        "UPDATE photos SET size = ?, mtime_ns = ?, width = ?, height = ?, thumb_key = ?, "
                        "indexed_at = ? WHERE id = ?",
                        (item.size, item.mtime_ns, item.width, item.height, item.thumb_key, now, photo_id),
                    )
                db.execute(
                    "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                    (photo_id, model_id, np.ascontiguousarray(item.vector, dtype=np.float32).tobytes()),
                )
                db.execute("DELETE FROM skipped WHERE path = ?", (path,))
                ids.append(photo_id)
            generation = _bump_generation(db)
        return ids, generation, stale_thumbs

    def delete_photos(self, ids: Sequence[int]) -> tuple[int, list[str]]:
        """Remove photos (files gone from disk); returns the new generation and their thumbnail keys."""
        with self.transaction() as db:
            keys = []
            for start in range(0, len(ids), 500):
                chunk = [int(i) for i in ids[start : start + 500]]
                marks = ",".join("?" * len(chunk))
                keys += [r[0] for r in db.execute(f"SELECT thumb_key FROM photos WHERE id IN ({marks})", chunk)]
                db.execute(f"DELETE FROM photos WHERE id IN ({marks})", chunk)
            generation = _bump_generation(db)
        return generation, keys

    # -- vectors -----------------------------------------------------------------------------

    def vector_count(self, model_id: str) -> int:
        return self._query("SELECT COUNT(*) FROM embeddings WHERE model_id = ?", (model_id,))[0][0]

    def iter_vectors(self, model_id: str, dim: int, chunk: int = 4096) -> Iterator[tuple[list[int], np.ndarray]]:
        """All vectors of ``model_id`` in chunks of (ids, (n, dim) float32); damaged rows (another
        length, or NaN and infinities stored by an older zssbir) are left out."""
        last = -1
        while True:
            rows = self._query(
                "SELECT photo_id, vector FROM embeddings WHERE model_id = ? AND photo_id > ? "
                "ORDER BY photo_id LIMIT ?",
                (model_id, last, chunk),
            )
            if not rows:
                return
            last = rows[-1][0]
            good = [row for row in rows if isinstance(row[1], bytes) and len(row[1]) == 4 * dim]
            vectors = [np.frombuffer(row[1], dtype=np.float32) for row in good]
            finite = [(row[0], v) for row, v in zip(good, vectors) if np.isfinite(v).all()]
            if finite:
                yield [i for i, _ in finite], np.stack([v for _, v in finite])

    def vector_ids(self, model_id: str) -> list[int]:
        """The ids of the photos holding a vector of ``model_id``, in order."""
        rows = self._query("SELECT photo_id FROM embeddings WHERE model_id = ? ORDER BY photo_id", (model_id,))
        return [row[0] for row in rows]

    def vector_of(self, photo_id: int, model_id: str) -> np.ndarray | None:
        rows = self._query(
            "SELECT vector FROM embeddings WHERE photo_id = ? AND model_id = ?", (int(photo_id), model_id)
        )
        return np.frombuffer(rows[0][0], dtype=np.float32).copy() if rows else None

    def drop_vectors_except(self, keep: Sequence[str]) -> int:
        """Delete vectors of every model not in ``keep``; returns how many were removed."""
        marks = ",".join("?" * len(keep))
        with self.transaction() as db:
            removed = db.execute(f"DELETE FROM embeddings WHERE model_id NOT IN ({marks})", list(keep)).rowcount
            if removed:
                _bump_generation(db)
        return removed

    def switch_model(self, model_id: str) -> int:
        """Make ``model_id`` the library's model and drop every other model's vectors."""
        with self.transaction() as db:
            db.execute("DELETE FROM embeddings WHERE model_id != ?", (model_id,))
            _set_meta(db, "model_id", model_id)
            return _bump_generation(db)

    # -- skipped files -----------------------------------------------------------------------

    def skipped(self) -> list[SkippedFile]:
        rows = self._query("SELECT path, reason, size, mtime_ns FROM skipped ORDER BY path")
        return [SkippedFile(from_db(path), str(reason), size, mtime) for path, reason, size, mtime in rows]

    def skipped_stats(self) -> dict[str, tuple[int | None, int | None]]:
        return {from_db(row[0]): (row[1], row[2]) for row in self._query("SELECT path, size, mtime_ns FROM skipped")}

    def record_skipped(self, entries: Sequence[SkippedFile]) -> None:
        """Remember files that could not be indexed, with why (replacing older reasons)."""
        if entries:
            now = time.time()
            with self.transaction() as db:
                db.executemany(
                    "INSERT OR REPLACE INTO skipped VALUES (?, ?, ?, ?, ?)",
                    [(to_db(e.path), e.size, e.mtime_ns, e.reason, now) for e in entries],
                )

    def forget_skipped(self, paths: Iterable[str]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM skipped WHERE path = ?", [(to_db(p),) for p in paths])


def _writable(path: Path) -> bool:
    return os.access(path.parent, os.W_OK) and os.access(path, os.W_OK)


def _read_only_uri(path: Path) -> str:
    """``mode=ro``, plus ``immutable=1`` when no WAL files exist (nor can be made) beside ``path``."""
    shared = all(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm"))
    return f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro" + ("" if shared else "&immutable=1")


def _set_meta(db: sqlite3.Connection, key: str, value: str | None) -> None:
    if value is None:
        db.execute("DELETE FROM meta WHERE key = ?", (key,))
    else:
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def _bump_generation(db: sqlite3.Connection) -> int:
    db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    return int(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _is_library(db: sqlite3.Connection, tables: set[str]) -> bool:
    """Whether a database with ``tables`` is a zssbir library (its meta table has a schema version)."""
    if "meta" not in tables:
        return False
    columns = [row[1] for row in db.execute("PRAGMA table_info(meta)")]
    if columns != ["key", "value"]:
        return False
    return db.execute("SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone() is not None
