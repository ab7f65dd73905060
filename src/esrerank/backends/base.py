"""The backend protocol: what esrerank needs from a store, and the metadata an index keeps."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from ..errors import ConfigError, IndexMismatchError
from ..types import LegHit, Passage
from .filters import Filter
from .judgments import JudgmentStore
from .schema import IndexSchema


@dataclass(frozen=True)
class IndexMeta:
    """How an index was built; kept in the mapping's ``_meta`` or the embedded manifest."""

    model: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    similarity: str = "cosine"
    normalized: bool = True
    analyzer: str = "standard"  # BM25 analysis: "standard" (engine-side) or "cjk" (client-side)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. stored fusion settings
    schema: dict[str, Any] = field(default_factory=dict)  # IndexSchema; empty: esrerank's own

    def index_schema(self) -> IndexSchema:
        """Where the index keeps each part of a passage."""
        if self.schema:
            return IndexSchema.from_dict(self.schema)
        return IndexSchema.esrerank(self.analyzer)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexMeta:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)

    def check_not_attached(self, index: str) -> None:
        """Refuse writing esrerank's passages into an application's attached index."""
        if self.index_schema().is_attached:
            raise ConfigError(
                f"Index '{index}' is attached: its documents are the application's, and attach "
                "run again embeds the new and changed ones. Ingest into another index name."
            )

    def check_model(self, index: str, model: str, dimension: int) -> None:
        """Refuse a bi-encoder other than the one that built the index."""
        if model != self.model or dimension != self.dimension:
            raise IndexMismatchError(
                f"Index '{index}' was built with bi-encoder '{self.model}' ({self.dimension} dims) "
                f"but this run uses '{model}' ({dimension} dims). Set `bi_encoder` to "
                f"{self.model}, or rebuild the index (ingest with `recreate`).",
                settings=("bi_encoder", "recreate"),
            )

    def check_analyzer(self, index: str, analyzer: str) -> None:
        """Refuse mixing two analyzers in one index."""
        if analyzer != self.analyzer:
            raise IndexMismatchError(
                f"Index '{index}' was built with `analyzer` {self.analyzer}, not {analyzer}. "
                "Use the same `analyzer` or rebuild it with `recreate`.",
                settings=("analyzer", "recreate"),
            )

    def check_chunking(self, index: str, size: int, overlap: int) -> None:
        """Refuse mixing two chunkings in one index."""
        if (size, overlap) != (self.chunk_size, self.chunk_overlap):
            raise IndexMismatchError(
                f"Index '{index}' was chunked with `chunk_size` {self.chunk_size} "
                f"`chunk_overlap` {self.chunk_overlap}, not {size}/{overlap}. Use the same values "
                "or rebuild it with `recreate`.",
                settings=("chunk_size", "chunk_overlap", "recreate"),
            )


@dataclass(frozen=True)
class Shards:
    """How a cluster spreads a new index: ``primaries`` (None: the cluster's default, one
    unless an index template says otherwise) and ``replicas`` of each (None: one when the
    cluster has a second node to hold it, none on a single node, so the index stays green
    either way). The embedded store keeps one file and ignores both."""

    primaries: int | None = None
    replicas: int | None = None

    def __post_init__(self) -> None:
        for name, least in (("primaries", 1), ("replicas", 0)):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value < least):
                raise ConfigError(f"`{name}` is {value!r}: give a whole number from {least}.")

    def settings(self) -> dict[str, Any]:
        """The index settings that give this layout."""
        chosen: dict[str, Any] = {}
        if self.primaries is not None:
            chosen["number_of_shards"] = self.primaries
        if self.replicas is None:
            chosen["auto_expand_replicas"] = "0-1"
        else:
            chosen["number_of_replicas"] = self.replicas
        return chosen

    @classmethod
    def of(cls, settings: dict[str, Any]) -> Shards:
        """The layout an existing index has, from its ``index`` settings."""
        expand = settings.get("auto_expand_replicas")
        replicas = None if expand == "0-1" else int(settings.get("number_of_replicas", 1))
        return cls(int(settings.get("number_of_shards", 1)), replicas)


@dataclass(frozen=True)
class BulkResult:
    """Outcome of one bulk upsert: ids stored, and ``(id, reason)`` for each failure."""

    indexed: int
    failures: tuple[tuple[str, str], ...] = ()


class Backend(Protocol):
    """A store holding passages with a BM25 field and a dense embedding. A search's ``filter``
    (``esrerank.backends.filters``) applies to the search itself, so it returns the best ``k``
    passages that match, not the matching part of the best ``k``."""

    engine: str  # "embedded", "opensearch" or "elasticsearch"
    version: str
    location: str  # URL or folder, for messages

    def index_exists(self, index: str) -> bool: ...
    def indices(self) -> list[str]: ...
    def judgments(self, index: str) -> JudgmentStore: ...
    def create_index(self, index: str, meta: IndexMeta, shards: Shards = Shards()) -> None: ...
    def delete_index(self, index: str) -> None: ...
    def writer(self, index: str) -> AbstractContextManager[None]: ...
    def get_meta(self, index: str) -> IndexMeta: ...
    def put_meta(self, index: str, meta: IndexMeta) -> None: ...
    def upsert(
        self, index: str, passages: Sequence[Passage], embeddings: np.ndarray
    ) -> BulkResult: ...
    def rebuild(
        self, index: str, meta: IndexMeta, passages: Sequence[Passage], embeddings: np.ndarray
    ) -> BulkResult: ...
    def delete(self, index: str, passage_ids: Sequence[str]) -> int: ...
    def existing_passages(self, index: str, doc_ids: Sequence[str]) -> dict[str, str]: ...
    def doc_ids(self, index: str) -> Iterator[str]: ...
    def bm25(self, index: str, text: str, k: int, filter: Filter = ()) -> list[LegHit]: ...
    def dense(
        self, index: str, vector: np.ndarray, k: int, filter: Filter = ()
    ) -> list[LegHit]: ...
    def both_legs(
        self, index: str, text: str, vector: np.ndarray, k: int, filter: Filter = ()
    ) -> tuple[list[LegHit], list[LegHit]]: ...
    def bm25_many(self, index: str, texts: Sequence[str], k: int) -> list[list[LegHit]]: ...
    def dense_many(self, index: str, vectors: np.ndarray, k: int) -> list[list[LegHit]]: ...
    def get(self, index: str, passage_ids: Sequence[str]) -> dict[str, Passage]: ...
    def passages(self, index: str) -> Iterator[Passage]: ...
    def count(self, index: str) -> int: ...
    def refresh(self, index: str) -> None: ...
    def close(self) -> None: ...


def rank_hits(scored: Sequence[tuple[Passage, float]]) -> list[LegHit]:
    """Turn ``(passage, score)`` pairs, best first, into ranked leg hits."""
    return [LegHit(passage=p, score=float(s), rank=i) for i, (p, s) in enumerate(scored, start=1)]
