"""The embedded backend: an on-disk store that needs no server.

Built on SQLite (Python's standard library): a well-kept, transactional, single-file database, so
every bulk upsert is all-or-nothing and a failed ingest never corrupts what was indexed before.
Python search libraries either rebuild their index on every change (bm25s) or keep vectors apart
from text (tantivy); here one file holds passages, an inverted index (term -> passage, frequency)
and the embeddings, and scoring follows Elasticsearch's (see ``analysis``): BM25 with k1=1.2,
b=0.75 and exact cosine kNN, scored ``(1 + cos) / 2`` like OpenSearch and Elasticsearch.

One database file per index: ``<data_dir>/<index>.sqlite``, with a write lock beside it
(``<index>.sqlite.lock``, see ``locking``). A backend may be shared by threads (a server's
workers, searches during an ingest): each index has one connection, in WAL mode, and the
backend's lock lets one thread use the connections at a time. BM25 reads its postings through
the connection and runs under the lock; kNN scores its snapshot of the vectors outside it.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import numpy as np

from ..errors import BackendError, ConfigError, IndexNotFoundError
from ..types import LegHit, Passage
from .analysis import term_frequencies
from .base import BulkResult, IndexMeta, Shards
from .embedded_scoring import (
    Snapshot,
    bm25_best,
    filter_mask,
    hits_of,
    load_snapshot,
    nearest,
)
from .filters import Filter
from .judgments import FileJudgments
from .locking import single_writer
from .schema import ESRERANK_SCHEMA

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE passages (
    row INTEGER PRIMARY KEY,
    passage_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    source TEXT NOT NULL,
    length INTEGER NOT NULL,
    embedding BLOB NOT NULL
);
CREATE INDEX passages_doc ON passages (doc_id);
CREATE TABLE postings (
    term TEXT NOT NULL,
    row INTEGER NOT NULL,
    tf INTEGER NOT NULL,
    PRIMARY KEY (term, row)
) WITHOUT ROWID;
CREATE INDEX postings_row ON postings (row);
"""

PAGE = 1000  # rows read per step when iterating over a whole index

_FIX = "point `data_dir` at a folder you can write to"
_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def _serialized(method):
    """Run ``method`` holding the backend's lock (SQLite connections are used by one thread at
    a time)."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


def _write_meta(db: sqlite3.Connection, meta: IndexMeta) -> None:
    db.execute("UPDATE meta SET value=? WHERE key='index'", (json.dumps(meta.to_dict()),))


class EmbeddedBackend:
    """Passages, BM25 postings and embeddings in one SQLite file per index."""

    engine = "embedded"
    version = sqlite3.sqlite_version

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir).expanduser()
        self.location = str(self.data_dir)
        self._connections: dict[str, sqlite3.Connection] = {}
        self._file_ids: dict[str, int] = {}  # index -> inode of the file its connection opened
        self._snapshots: dict[str, Snapshot] = {}
        self._writes: Counter[str] = Counter()
        self._lock = threading.RLock()

    # -- index lifecycle -------------------------------------------------------------------------

    def _path(self, index: str) -> Path:
        if not _INDEX_NAME.match(index):
            raise ConfigError(
                f"Invalid index name '{index}': use lowercase letters, digits, '_', '-' or '.', "
                "starting with a letter or digit."
            )
        return self.data_dir / f"{index}.sqlite"

    def index_exists(self, index: str) -> bool:
        return self._path(index).is_file()

    def indices(self) -> list[str]:
        """The names of the indices in the store's folder."""
        found = (path.stem for path in self.data_dir.glob("*.sqlite"))
        return sorted(name for name in found if _INDEX_NAME.match(name))

    def judgments(self, index: str) -> FileJudgments:
        """The judgments given ``index``'s results, in the store's folder."""
        self._path(index)  # a valid name
        return FileJudgments(self.data_dir / "judgments" / f"{index}.jsonl")

    def _db(self, index: str) -> sqlite3.Connection:
        """The index's connection; opened again when another process has deleted or rebuilt
        the file since (``--recreate``), so a long-lived reader never serves a removed index."""
        path = self._path(index)
        try:
            file_id = path.stat().st_ino
        except FileNotFoundError:
            file_id = None
        except OSError as exc:  # a file where a folder should be, no permission
            raise BackendError(
                f"Cannot read the data folder {self.data_dir} ({exc.strerror or exc}): {_FIX}.",
                settings=("data_dir",),
            ) from None
        if index in self._connections and self._file_ids.get(index) != file_id:
            self._connections.pop(index).close()
            self._snapshots.pop(index, None)
        if index not in self._connections:
            if file_id is None:
                raise IndexNotFoundError(
                    f"Index '{index}' not found in {self.location}: ingest a corpus into it "
                    "first, or point `data_dir` at the folder that holds it.",
                    index=index,
                    settings=("data_dir",),
                )
            self._connections[index] = self._connect(path)
            self._file_ids[index] = file_id
        return self._connections[index]

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(path, timeout=30, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise BackendError(
                f"Cannot open {path} ({exc}): {_FIX}.", settings=("data_dir",)
            ) from None
        return db

    @contextmanager
    def _transaction(self, index: str) -> Iterator[sqlite3.Connection]:
        """One all-or-nothing write; SQLite's refusals (a read-only folder, a full disk) become
        one clear error."""
        db = self._db(index)
        try:
            with db:
                yield db
        except sqlite3.OperationalError as exc:
            raise BackendError(
                f"Cannot write index '{index}' in {self.location} ({exc}): {_FIX}, "
                "or free some disk space.",
                settings=("data_dir",),
            ) from None
        self._writes[index] += 1

    def writer(self, index: str) -> AbstractContextManager[None]:
        """The index's write lock: one ingest or re-embed at a time (``IndexBusyError``)."""
        path = self._path(index)
        self._make_data_dir()
        return single_writer(path, index)

    def _make_data_dir(self) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(
                f"Cannot create the data folder {self.data_dir} ({exc.strerror or exc}): {_FIX}.",
                settings=("data_dir",),
            ) from None

    @_serialized
    def create_index(self, index: str, meta: IndexMeta, shards: Shards = Shards()) -> None:
        """A new database file (one file: ``shards`` has no meaning here)."""
        path = self._path(index)
        self._make_data_dir()
        if path.exists():
            raise BackendError(f"Index '{index}' already exists in {self.location}.")
        self._connections[index] = self._connect(path)
        self._file_ids[index] = path.stat().st_ino
        with self._transaction(index) as db:
            db.executescript(_SCHEMA)
            db.execute("INSERT INTO meta VALUES ('index', ?)", (json.dumps(meta.to_dict()),))

    @_serialized
    def delete_index(self, index: str) -> None:
        db = self._connections.pop(index, None)
        if db is not None:
            db.close()
        self._snapshots.pop(index, None)
        path = self._path(index)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    @_serialized
    def get_meta(self, index: str) -> IndexMeta:
        (value,) = self._db(index).execute("SELECT value FROM meta WHERE key='index'").fetchone()
        return IndexMeta.from_dict(json.loads(value))

    @_serialized
    def put_meta(self, index: str, meta: IndexMeta) -> None:
        with self._transaction(index) as db:
            _write_meta(db, meta)

    # -- writes ----------------------------------------------------------------------------------

    @_serialized
    def upsert(self, index: str, passages: Sequence[Passage], embeddings: np.ndarray) -> BulkResult:
        """Insert or replace passages by id, all in one transaction."""
        analyzer = self.get_meta(index).analyzer
        with self._transaction(index) as db:
            self._insert(db, passages, embeddings, analyzer)
        return BulkResult(indexed=len(passages))

    @_serialized
    def rebuild(
        self, index: str, meta: IndexMeta, passages: Sequence[Passage], embeddings: np.ndarray
    ) -> BulkResult:
        """Replace every passage and the build record in one transaction: readers see the old
        index until it commits, and a failure leaves it as it was."""
        with self._transaction(index) as db:
            db.execute("DELETE FROM postings")
            db.execute("DELETE FROM passages")
            _write_meta(db, meta)
            self._insert(db, passages, embeddings, meta.analyzer)
        return BulkResult(indexed=len(passages))

    def _insert(
        self,
        db: sqlite3.Connection,
        passages: Sequence[Passage],
        embeddings: np.ndarray,
        analyzer: str,
    ) -> None:
        vectors = np.asarray(embeddings, dtype=np.float32)
        for passage, vector in zip(passages, vectors, strict=True):
            self._delete_ids(db, [passage.passage_id])
            counts, length = term_frequencies(passage.content, analyzer)
            cursor = db.execute(
                "INSERT INTO passages (passage_id, doc_id, content_hash, source, length,"
                " embedding) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    passage.passage_id,
                    passage.doc_id,
                    passage.content_hash,
                    json.dumps(ESRERANK_SCHEMA.source(passage), ensure_ascii=False),
                    length,
                    vector.tobytes(),
                ),
            )
            row = cursor.lastrowid
            db.executemany(
                "INSERT INTO postings VALUES (?, ?, ?)",
                [(term, row, tf) for term, tf in counts.items()],
            )

    @_serialized
    def delete(self, index: str, passage_ids: Sequence[str]) -> int:
        with self._transaction(index) as db:
            deleted = self._delete_ids(db, passage_ids)
        return deleted

    @staticmethod
    def _delete_ids(db: sqlite3.Connection, passage_ids: Sequence[str]) -> int:
        deleted = 0
        for passage_id in passage_ids:
            found = db.execute(
                "SELECT row FROM passages WHERE passage_id=?", (passage_id,)
            ).fetchone()
            if found:
                db.execute("DELETE FROM postings WHERE row=?", found)
                db.execute("DELETE FROM passages WHERE row=?", found)
                deleted += 1
        return deleted

    @_serialized
    def refresh(self, index: str) -> None:
        """Writes are visible as soon as they commit; nothing to do."""
        self._db(index)

    # -- reads -----------------------------------------------------------------------------------

    @_serialized
    def existing_passages(self, index: str, doc_ids: Sequence[str]) -> dict[str, str]:
        db = self._db(index)
        found: dict[str, str] = {}
        for doc_id in doc_ids:
            rows = db.execute(
                "SELECT passage_id, content_hash FROM passages WHERE doc_id=?", (doc_id,)
            )
            found.update(rows.fetchall())
        return found

    def doc_ids(self, index: str) -> Iterator[str]:
        """Every stored document's id, once each (read a page at a time)."""
        for (doc_id,) in self._pages(
            index, "SELECT DISTINCT doc_id FROM passages WHERE doc_id > ? ORDER BY doc_id"
        ):
            yield doc_id

    @_serialized
    def get(self, index: str, passage_ids: Sequence[str]) -> dict[str, Passage]:
        db = self._db(index)
        found = {}
        for passage_id in passage_ids:
            row = db.execute(
                "SELECT source FROM passages WHERE passage_id=?", (passage_id,)
            ).fetchone()
            if row:
                found[passage_id] = ESRERANK_SCHEMA.passage(json.loads(row[0]))
        return found

    def passages(self, index: str) -> Iterator[Passage]:
        """Every stored passage, by id (read a page at a time)."""
        for _, source in self._pages(
            index,
            "SELECT passage_id, source FROM passages WHERE passage_id > ? ORDER BY passage_id",
        ):
            yield ESRERANK_SCHEMA.passage(json.loads(source))

    def _pages(self, index: str, query: str) -> Iterator[tuple]:
        """The rows of ``query`` (ordered by its first column, which it compares with ``?``),
        ``PAGE`` at a time, each page read under the lock so no cursor outlives it."""
        after = ""
        while True:
            with self._lock:
                page = self._db(index).execute(f"{query} LIMIT {PAGE}", (after,)).fetchall()
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1][0]

    @_serialized
    def count(self, index: str) -> int:
        return self._db(index).execute("SELECT COUNT(*) FROM passages").fetchone()[0]

    @_serialized
    def bm25(self, index: str, text: str, k: int, filter: Filter = ()) -> list[LegHit]:
        """Lucene BM25 over ``title + text`` (``embedded_scoring``), among passages that
        match ``filter``."""
        db = self._db(index)
        snapshot = self._snapshot(index)
        mask = filter_mask(db, snapshot, filter)
        return hits_of(db, bm25_best(db, snapshot, text, k, mask))

    def both_legs(
        self, index: str, text: str, vector: np.ndarray, k: int, filter: Filter = ()
    ) -> tuple[list[LegHit], list[LegHit]]:
        return self.bm25(index, text, k, filter), self.dense(index, vector, k, filter)

    def bm25_many(self, index: str, texts: Sequence[str], k: int) -> list[list[LegHit]]:
        return [self.bm25(index, text, k) for text in texts]

    def dense_many(self, index: str, vectors: np.ndarray, k: int) -> list[list[LegHit]]:
        return [self.dense(index, vector, k) for vector in vectors]

    def dense(self, index: str, vector: np.ndarray, k: int, filter: Filter = ()) -> list[LegHit]:
        """Exact cosine nearest neighbours among passages that match ``filter``, scored
        outside the lock."""
        with self._lock:
            snapshot = self._snapshot(index)
            mask = filter_mask(self._db(index), snapshot, filter)
        best = nearest(snapshot, vector, k, mask)
        with self._lock:
            return hits_of(self._db(index), best)

    @_serialized
    def _snapshot(self, index: str) -> Snapshot:
        """What queries read, reloaded when this or another process wrote."""
        db = self._db(index)
        version = (db.execute("PRAGMA data_version").fetchone()[0], self._writes[index])
        cached = self._snapshots.get(index)
        if cached is None or cached.version != version:
            self._snapshots[index] = load_snapshot(db, version, self.get_meta(index))
        return self._snapshots[index]

    @_serialized
    def close(self) -> None:
        for db in self._connections.values():
            db.close()
        self._connections.clear()
        self._snapshots.clear()
