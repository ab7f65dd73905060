"""Plain data types passed between esrerank's stages."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Record:
    """One source document as read from a corpus file."""

    doc_id: str
    title: str
    text: str
    source: str  # where it came from, e.g. "corpus.jsonl:12", for error messages
    fields: dict[str, Any] = field(default_factory=dict, compare=False)  # its other fields
    set_aside: tuple[str, ...] = ()  # other fields not kept: esrerank's indices use the names


@dataclass(frozen=True)
class Passage:
    """A chunk of a document: the unit that is indexed, retrieved and reranked."""

    passage_id: str
    doc_id: str
    title: str
    text: str
    position: int  # index of the chunk within its document
    char_start: int
    char_end: int
    content_hash: str
    # The document's other fields (category, date, ...): stored, returned, and what filters test.
    fields: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def content(self) -> str:
        """The text BM25 sees: title and passage together."""
        return f"{self.title}\n{self.text}" if self.title else self.text


# The two first-stage legs, by the names results, fusion weights, eval and training use.
BM25 = "bm25"
DENSE = "dense"  # the kNN search over the embeddings
LEGS = (BM25, DENSE)


@dataclass(frozen=True)
class LegHit:
    """One hit of a first-stage leg (BM25 or dense): raw engine score and 1-based rank."""

    passage: Passage
    score: float
    rank: int


class LegHits(list):
    """A leg's hits in rank order, and what the engine said was partial about this answer
    (failed shards, a timeout): the warnings travel with the hits they belong to."""

    def __init__(self, hits: Iterable[LegHit] = (), warnings: tuple[str, ...] = ()) -> None:
        super().__init__(hits)
        self.warnings = warnings


def leg_warnings(*legs: Sequence[LegHit]) -> tuple[str, ...]:
    """The warnings of ``legs`` (``LegHits``; a plain list has none), each once."""
    return tuple(dict.fromkeys(w for leg in legs for w in getattr(leg, "warnings", ())))


@dataclass(frozen=True)
class StageScore:
    """A score and 1-based rank at one stage; ``None`` when the passage did not reach it."""

    score: float | None = None
    rank: int | None = None


@dataclass(frozen=True)
class Hit:
    """A final result with the score and rank it had at every stage."""

    passage: Passage
    rank: int
    bm25: StageScore
    dense: StageScore
    fused: StageScore
    rerank: StageScore
    final: StageScore  # the score that placed it: rerank blended with fused, or fused alone
    normalized: dict[str, float] = field(default_factory=dict)  # leg -> score after normalization

    @property
    def knn(self) -> StageScore:
        """The dense leg's stage under its earlier name (deprecated: ``dense``)."""
        warnings.warn("Hit.knn is deprecated: use Hit.dense", DeprecationWarning, stacklevel=2)
        return self.dense

    @property
    def passage_id(self) -> str:
        return self.passage.passage_id

    @property
    def doc_id(self) -> str:
        return self.passage.doc_id

    @property
    def title(self) -> str:
        return self.passage.title

    @property
    def text(self) -> str:
        return self.passage.text

    def to_dict(self) -> dict[str, Any]:
        stages = {
            "bm25": self.bm25,
            "dense": self.dense,
            "fused": self.fused,
            "rerank": self.rerank,
            "final": self.final,
        }
        return {
            "rank": self.rank,
            "passage_id": self.passage_id,
            "doc_id": self.doc_id,
            "title": self.title,
            "text": self.text,
            "position": self.passage.position,
            "fields": dict(self.passage.fields),
            "scores": {name: stage.score for name, stage in stages.items()},
            "ranks": {name: stage.rank for name, stage in stages.items()},
            "normalized": dict(self.normalized),
        }


@dataclass(frozen=True)
class IngestReport:
    """What an ingest run did."""

    documents: int
    passages: int
    indexed: int
    unchanged: int
    deleted: int
    failed: int
    seconds: float
    embed_seconds: float = 0.0  # of which computing embeddings
    failures: tuple[str, ...] = ()
    analyzer: str = ""  # the BM25 analysis the index uses
    notes: tuple[str, ...] = ()  # settings chosen from the corpus, and advice
    removed: int | None = None  # documents no longer in the file, removed (None: not synced)

    @property
    def passages_per_second(self) -> float:
        return self.passages / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        return (
            f"documents={self.documents} passages={self.passages} indexed={self.indexed} "
            f"unchanged={self.unchanged} deleted={self.deleted} "
            + (f"removed={self.removed} " if self.removed is not None else "")
            + f"failed={self.failed} "
            f"seconds={self.seconds:.1f} (embedding {self.embed_seconds:.1f}) "
            f"passages/s={self.passages_per_second:.1f}"
            + (f" analyzer={self.analyzer}" if self.analyzer else "")
        )
