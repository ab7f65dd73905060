"""In-memory parts for fast tests of the orchestration (ingest, the search pipeline's choices):
a backend holding passages in dicts, a deterministic bi-encoder that hashes words, and a
cross-encoder that scores word overlap. None of them stands in for an engine or a model in a test
that claims something of one; tests/integration does that with real ones."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from esrerank.backends.base import BulkResult, IndexMeta, Shards, rank_hits
from esrerank.backends.judgments import Judgment, pair_key
from esrerank.errors import IndexNotFoundError
from esrerank.models.pool import ModelPool
from esrerank.models.reranker import RerankOutcome
from esrerank.models.runtimes import Runtime
from esrerank.types import LegHit, Passage

WORD = re.compile(r"\w+")


class MemoryJudgments:
    """The ``JudgmentStore`` protocol over a dict."""

    def __init__(self) -> None:
        self.kept: dict[str, Judgment] = {}

    def put(self, judgments) -> int:
        stamped = [j.stamped() for j in judgments]
        self.kept.update((j.key, j) for j in stamped)
        return len(stamped)

    def delete(self, query: str, doc_id: str) -> bool:
        return self.kept.pop(pair_key(query, doc_id), None) is not None

    def all(self) -> list[Judgment]:
        return list(self.kept.values())


class MemoryBackend:
    """The ``Backend`` protocol over dicts: BM25 is the count of query words a passage holds,
    kNN the dot product (vectors are unit length). Filters are not supported."""

    engine, version, location = "memory", "0", "memory"

    def __init__(self) -> None:
        self.metas: dict[str, IndexMeta] = {}
        self.stored: dict[str, dict[str, tuple[Passage, np.ndarray]]] = {}
        self.judged: dict[str, MemoryJudgments] = {}

    def judgments(self, index: str) -> MemoryJudgments:
        return self.judged.setdefault(index, MemoryJudgments())

    def index_exists(self, index: str) -> bool:
        return index in self.metas

    def indices(self) -> list[str]:
        return sorted(self.metas)

    def create_index(self, index: str, meta: IndexMeta, shards: Shards = Shards()) -> None:
        self.metas[index], self.stored[index] = meta, {}

    def delete_index(self, index: str) -> None:
        self.metas.pop(index, None)
        self.stored.pop(index, None)

    def writer(self, index: str) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def get_meta(self, index: str) -> IndexMeta:
        if index not in self.metas:
            raise IndexNotFoundError(f"Index '{index}' not found in memory.", index=index)
        return self.metas[index]

    def put_meta(self, index: str, meta: IndexMeta) -> None:
        self.metas[index] = meta

    def upsert(self, index: str, passages: Sequence[Passage], embeddings: np.ndarray):
        for passage, vector in zip(passages, embeddings, strict=True):
            self.stored[index][passage.passage_id] = (passage, vector)
        return BulkResult(len(passages))

    def rebuild(self, index, meta, passages, embeddings) -> BulkResult:
        self.create_index(index, meta)
        return self.upsert(index, passages, embeddings)

    def delete(self, index: str, passage_ids: Sequence[str]) -> int:
        return sum(self.stored[index].pop(pid, None) is not None for pid in passage_ids)

    def existing_passages(self, index: str, doc_ids: Sequence[str]) -> dict[str, str]:
        wanted = set(doc_ids)
        return {
            pid: p.content_hash for pid, (p, _) in self.stored[index].items() if p.doc_id in wanted
        }

    def doc_ids(self, index: str) -> Iterator[str]:
        return iter(sorted({p.doc_id for p, _ in self.stored[index].values()}))

    def bm25(self, index: str, text: str, k: int, filter=()) -> list[LegHit]:
        words = set(WORD.findall(text.lower()))
        scored = [
            (p, float(len(words & set(WORD.findall(p.content.lower())))))
            for p, _ in self.stored[index].values()
        ]
        return _best([(p, s) for p, s in scored if s > 0], k)

    def dense(self, index: str, vector: np.ndarray, k: int, filter=()) -> list[LegHit]:
        return _best([(p, float(v @ vector)) for p, v in self.stored[index].values()], k)

    def both_legs(self, index, text, vector, k, filter=()):
        return self.bm25(index, text, k), self.dense(index, vector, k)

    def bm25_many(self, index: str, texts: Sequence[str], k: int) -> list[list[LegHit]]:
        return [self.bm25(index, text, k) for text in texts]

    def dense_many(self, index: str, vectors: np.ndarray, k: int) -> list[list[LegHit]]:
        return [self.dense(index, vector, k) for vector in vectors]

    def get(self, index: str, passage_ids: Sequence[str]) -> dict[str, Passage]:
        return {pid: self.stored[index][pid][0] for pid in passage_ids if pid in self.stored[index]}

    def passages(self, index: str) -> Iterator[Passage]:
        return iter([p for p, _ in self.stored[index].values()])

    def count(self, index: str) -> int:
        return len(self.stored[index])

    def refresh(self, index: str) -> None:
        pass

    def close(self) -> None:
        pass


def _best(scored: list[tuple[Passage, float]], k: int) -> list[LegHit]:
    return rank_hits(sorted(scored, key=lambda item: (-item[1], item[0].passage_id))[:k])


class HashingEncoder:
    """A bi-encoder that needs no model: each word hashed into one of ``dimension`` slots, the
    counts unit-normalized; one token per word. ``texts_embedded`` counts its work."""

    name = "test/hashing-encoder"
    runtime = None

    def __init__(self, dimension: int = 16) -> None:
        self.dimension = dimension
        self.texts_embedded = 0

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return [match.span() for match in WORD.finditer(text)]

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        self.texts_embedded += len(texts)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in WORD.findall(text.lower()):
                slot = int(hashlib.blake2b(word.encode(), digest_size=4).hexdigest(), 16)
                vectors[row, slot % self.dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)

    encode_queries = encode


@dataclass
class OverlapReranker:
    """A cross-encoder that needs no model: the share of the query's words a passage holds.
    ``pairs_scored`` counts its work."""

    name: str = "test/overlap-reranker"
    max_length: int = 256
    batch_size: int = 8
    draft_error = None
    runtime = Runtime("torch", "fp32")
    pairs_scored: int = 0

    def unreadable(self, texts: Sequence[str]) -> str:
        return ""

    def score(self, query, passages, timeout=None, draft=False) -> RerankOutcome:
        self.pairs_scored += len(passages)
        words = set(WORD.findall(query.lower()))
        shares = [len(words & set(WORD.findall(p.lower()))) / max(len(words), 1) for p in passages]
        return RerankOutcome(np.array(shares, dtype=np.float64))


class HashingModels(ModelPool):
    """A model pool whose every bi-encoder, by whatever name, is ``encoder``."""

    def __init__(self, encoder: HashingEncoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.asked: list[str] = []

    def bi_encoder(self, model):
        self.asked.append(model if isinstance(model, str) else model.name)
        return self.encoder


def memory_searcher(folder: Path, docs: dict[str, str], backend: MemoryBackend | None = None):
    """A ``Searcher`` of index ``docs`` on ``backend`` (a new ``MemoryBackend`` by default)
    with the hashing bi-encoder and the overlap reranker, ``docs`` (id -> text) ingested one
    passage each."""
    from esrerank.corpus import ChunkSpec
    from esrerank.searcher import Searcher

    corpus = folder / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": i, "text": t}) + "\n" for i, t in docs.items()))
    found = Searcher(
        index="docs",
        backend=backend or MemoryBackend(),
        models=HashingModels(HashingEncoder()),
        reranker=OverlapReranker(),
    )
    found.ingest(corpus, chunking=ChunkSpec(size=64, overlap=0))
    return found
