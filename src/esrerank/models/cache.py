"""Model outputs kept on disk, so the same text is never run through a model twice: passage
embeddings (ingesting a corpus into a second backend, or again after ``--recreate``) and
cross-encoder scores (``esrerank eval`` run again). Keys name the model and the input exactly.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

SQLITE_VARIABLES = 900  # stay under SQLite's limit on parameters per statement

log = logging.getLogger(__name__)


class DiskCache:
    """``key -> value`` (a number or bytes) in one SQLite table. A cache that cannot be opened or
    written (a read-only folder, a full disk) is warned about once and then left out: it only
    saves time."""

    def __init__(self, path: str | Path, table: str) -> None:
        self.path = Path(path)
        self.table = table
        self.db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Used by one thread at a time, not always the one that opened it (ingest embeds in
            # a worker thread).
            self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            self.db.execute(f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, value)")
        except (OSError, sqlite3.Error) as exc:
            self._give_up(exc)

    def _give_up(self, exc: Exception) -> None:
        log.warning("cache %s cannot be used (%s); going on without it.", self.path, exc)
        if self.db is not None:
            self.db.close()
        self.db = None

    def get_many(self, keys: Sequence[str]) -> dict:
        found = {}
        for begin in range(0, len(keys), SQLITE_VARIABLES):
            if self.db is None:
                break
            part = list(keys[begin : begin + SQLITE_VARIABLES])
            try:
                rows = self.db.execute(
                    f"SELECT key, value FROM {self.table} WHERE key IN "
                    f"({','.join('?' * len(part))})",
                    part,
                ).fetchall()
            except sqlite3.Error as exc:
                self._give_up(exc)
                break
            found.update(rows)
        return found

    def put_many(self, items: Iterable[tuple[str, object]]) -> None:
        if self.db is None:
            return
        try:
            with self.db:
                self.db.executemany(f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?)", items)
        except sqlite3.Error as exc:
            self._give_up(exc)

    def get_or_compute(self, keys: Sequence[str], compute: Callable[[list[int]], Sequence]) -> list:
        """The value of each key: read where cached, else made by ``compute(positions of the
        missing keys)`` and stored."""
        found = self.get_many(keys)
        missing = [i for i, key in enumerate(keys) if key not in found]
        if missing:
            fresh = dict(zip((keys[i] for i in missing), compute(missing), strict=True))
            self.put_many(fresh.items())
            found.update(fresh)
        return [found[key] for key in keys]

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


def cache_key(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()


def model_identity(name: str) -> str:
    """A model's name, plus for a local folder its path and weights' times (a retrained model
    in the same folder is another model)."""
    folder = Path(name)
    if not folder.is_dir():
        return name
    stamps = [p.stat().st_mtime_ns for p in sorted(folder.glob("*.safetensors"))]
    return f"{name}|{folder.resolve()}|{stamps}"
