"""Relevance judgments a person gave an index's results, kept beside the index: a JSON Lines
file in the embedded store's folder (``judgments/<index>.jsonl``), or an index of their own on
an engine (``esrerank-judgments-<index>``, hidden, so an application's wildcard searches never
see it). A judgment grades one document (0 not relevant … 3 perfectly relevant) for one query;
judging it again replaces the grade."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..digests import texts_digest
from ..errors import BackendError, ConfigError, IndexExistsError

if TYPE_CHECKING:
    from .http import HttpClient

GRADES = (0, 1, 2, 3)
ENGINE_PREFIX = "esrerank-judgments-"
_MAPPING = {
    "settings": {"index": {"hidden": True, "number_of_shards": 1, "auto_expand_replicas": "0-1"}},
    "mappings": {
        "dynamic": "strict",
        "properties": {
            "query": {"type": "keyword"},
            "doc_id": {"type": "keyword"},
            "grade": {"type": "byte"},
            "passage_id": {"type": "keyword"},
            "updated": {"type": "double"},
            "key": {"type": "keyword"},  # the pair, to page through them in a stable order
        },
    },
}


@dataclass(frozen=True)
class Judgment:
    """How relevant document ``doc_id`` is to ``query`` (``grade`` 0–3); ``passage_id`` is the
    passage that was shown when it was judged."""

    query: str
    doc_id: str
    grade: int
    passage_id: str = ""
    updated: float = 0.0  # seconds since the epoch

    def __post_init__(self) -> None:
        if not self.query.strip():
            raise ConfigError("A judgment needs the query it was given for.")
        if not self.doc_id:
            raise ConfigError("A judgment needs the id of the document it grades.")
        if isinstance(self.grade, bool) or self.grade not in GRADES:
            raise ConfigError(
                f"A judgment's `grade` is 0, 1, 2 or 3, got {self.grade!r}.", settings=("grade",)
            )

    @property
    def key(self) -> str:
        """The pair it grades, as one id."""
        return pair_key(self.query, self.doc_id)

    @property
    def query_id(self) -> str:
        """A stable id for its query (the same text, the same id)."""
        return query_id(self.query)

    def stamped(self) -> Judgment:
        return Judgment(self.query, self.doc_id, self.grade, self.passage_id, time.time())

    @classmethod
    def from_dict(cls, data: dict) -> Judgment:
        return cls(
            str(data["query"]),
            str(data["doc_id"]),
            data["grade"],
            str(data.get("passage_id", "")),
            float(data.get("updated", 0.0)),
        )


def query_id(query: str) -> str:
    return "q" + texts_digest(query, size=6).hex()


def pair_key(query: str, doc_id: str) -> str:
    return texts_digest(query, doc_id).hex()


class JudgmentStore(Protocol):
    def put(self, judgments: Iterable[Judgment]) -> int: ...
    def delete(self, query: str, doc_id: str) -> bool: ...
    def all(self) -> list[Judgment]: ...


class FileJudgments:
    """Judgments in a JSON Lines file, rewritten whole (to a temporary file, then renamed) on
    every change, so a crash leaves the old file or the new one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def all(self) -> list[Judgment]:
        with self._lock:
            return list(self._read().values())

    def put(self, judgments: Iterable[Judgment]) -> int:
        stamped = [j.stamped() for j in judgments]
        with self._lock:
            kept = self._read()
            kept.update((j.key, j) for j in stamped)
            self._write(kept.values())
        return len(stamped)

    def delete(self, query: str, doc_id: str) -> bool:
        with self._lock:
            kept = self._read()
            found = kept.pop(pair_key(query, doc_id), None)
            if found is not None:
                self._write(kept.values())
        return found is not None

    def _read(self) -> dict[str, Judgment]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise BackendError(f"Cannot read the judgments in {self.path}: {exc}") from None
        found = {}
        for number, line in enumerate(lines, start=1):
            try:
                judgment = Judgment.from_dict(json.loads(line))
            except (ValueError, KeyError, TypeError, ConfigError) as exc:
                raise BackendError(
                    f"{self.path}, line {number}: not a judgment ({exc}). Fix or remove the line."
                ) from None
            found[judgment.key] = judgment
        return found

    def _write(self, judgments: Iterable[Judgment]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, staging = tempfile.mkstemp(dir=self.path.parent, prefix=".judgments-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                for judgment in judgments:
                    out.write(json.dumps(asdict(judgment), ensure_ascii=False) + "\n")
            os.replace(staging, self.path)
        except OSError as exc:
            raise BackendError(f"Cannot write the judgments to {self.path}: {exc}") from None


class EngineJudgments:
    """Judgments as documents of their own hidden index on the cluster, one per (query,
    document)."""

    def __init__(self, client: HttpClient, index: str) -> None:
        self.client = client
        self.index = ENGINE_PREFIX + index

    def all(self) -> list[Judgment]:
        if not self.client.exists(f"/{self.index}"):
            return []
        found, after = [], None
        while True:
            body = {"size": 1000, "sort": [{"key": "asc"}], "query": {"match_all": {}}}
            if after is not None:
                body["search_after"] = after
            hits = self.client.request("POST", f"/{self.index}/_search", body)["hits"]["hits"]
            found += [Judgment.from_dict(hit["_source"]) for hit in hits]
            if len(hits) < 1000:
                return found
            after = hits[-1]["sort"]

    def put(self, judgments: Iterable[Judgment]) -> int:
        lines = []
        for judgment in judgments:
            lines += [
                {"index": {"_id": judgment.key}},
                {**asdict(judgment.stamped()), "key": judgment.key},
            ]
        if not lines:
            return 0
        self._create()
        answer = self.client.request(
            "POST", f"/{self.index}/_bulk", ndjson=lines, params={"refresh": "true"}
        )
        if answer.get("errors"):
            failed = next(i for i in answer["items"] if "error" in i["index"])["index"]["error"]
            raise BackendError(f"The cluster refused a judgment: {failed.get('reason', failed)}")
        return len(lines) // 2

    def delete(self, query: str, doc_id: str) -> bool:
        if not self.client.exists(f"/{self.index}/_doc/{pair_key(query, doc_id)}"):
            return False
        self.client.request(
            "DELETE", f"/{self.index}/_doc/{pair_key(query, doc_id)}", params={"refresh": "true"}
        )
        return True

    def _create(self) -> None:
        if self.client.exists(f"/{self.index}"):
            return
        with contextlib.suppress(IndexExistsError):  # another writer created it first
            self.client.request("PUT", f"/{self.index}", _MAPPING)
