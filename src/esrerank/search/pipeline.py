"""One search: BM25 and kNN legs, fused, the fused top reranked, every stage's score kept."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from ..backends.filters import filter_clauses
from ..config import (
    DEFAULT_CANDIDATES,
    DEFAULT_TOP_K,
)
from ..corpus.jsonstream import valid_unicode
from ..errors import ConfigError
from ..fusion import FusionResult, FusionSpec, fuse_hits, leg_scores
from ..fusion.ensemble import ensemble_fusion
from ..fusion.final_order import STOP_BATCH, Check, FinalOrder, RerankFailure, Scorer, final_order
from ..indexing.handle import IndexHandle
from ..models.bi_encoder import BiEncoder
from ..models.hub import DEFAULT_CROSS_ENCODER, expect_model
from ..models.pool import ModelPool
from ..models.reranker import READ_CHECK_PASSAGES, Reranker
from ..types import BM25, DENSE, Hit, LegHit, Passage, StageScore, leg_warnings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchResult:
    """The final hits, and how they came about."""

    query: str
    hits: list[Hit]
    fusion: FusionSpec
    legs: dict[str, list[LegHit]]  # "bm25" / "dense" -> that leg's hits, best first
    fused: FusionResult
    reranked: bool
    reranker: str | None
    rerank_reason: str = ""
    reranker_runtime: str | None = None  # e.g. "openvino fp32"
    rerank_weight: float = 0.0  # the cross-encoder's share of the final score; 0 if not reranked
    rerank_scored: int = 0  # passages the cross-encoder scored (it stops once the page is known)
    rerank_checked: int = 0  # of those, scored again at fp32 where bf16 left the order in doubt
    rerank_pool: int = 0  # passages it could have scored: the fused top rerank_depth
    rerank_recalled: int = 0  # of the scores and checks, those the score memory answered
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    ensemble: bool = False  # reranked the study's way: BM25 + the reranked dense top, 1:1
    warnings: tuple[str, ...] = ()  # the engine's answer was partial (failed shards, a timeout)
    filter: tuple[dict, ...] = ()  # the clauses every leg applied

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
            "rerank_scored": self.rerank_scored,
            "rerank_checked": self.rerank_checked,
            "rerank_pool": self.rerank_pool,
            "rerank_recalled": self.rerank_recalled,
            "filter": list(self.filter),
            "candidates": {name: len(hits) for name, hits in self.legs.items()},
            "timings": {name: round(seconds, 4) for name, seconds in self.timings.items()},
            "hits": [hit.to_dict() for hit in self.hits],
            "warnings": list(self.warnings),
        }


class SearchPipeline:
    """Searches ``handle``'s index with the bi-encoder it is used with and ``reranker``, both from
    ``models``."""

    def __init__(
        self,
        handle: IndexHandle,
        models: ModelPool,
        reranker: str | Reranker = DEFAULT_CROSS_ENCODER,
    ) -> None:
        self.handle = handle
        self.backend = handle.backend
        self.models = models
        self.reranker_choice = reranker

    @property
    def reranker(self) -> Reranker:
        return self.models.reranker(self.reranker_choice)

    def search(
        self,
        query: str,
        *,
        top_k: int = DEFAULT_TOP_K,
        candidates: int = DEFAULT_CANDIDATES,
        rerank_depth: int | None = None,
        fusion: FusionSpec | None = None,
        rerank: bool = True,
        rerank_timeout: float | None = None,
        rerank_weight: float | None = None,
        filter: dict | list[dict] | None = None,
        draft: bool = True,
    ) -> SearchResult:
        """BM25 and kNN legs of ``candidates`` hits each, fused; the fused top ``rerank_depth``
        reranked by the cross-encoder; the best ``top_k`` returned with every stage's score.

        Args:
            query: The text to search for.
            top_k: How many hits to return.
            candidates: How many hits each leg retrieves.
            rerank_depth: How many fused passages the cross-encoder may score; ``None`` is the
                depth tuned with the weight (``esrerank eval --tune``), else 100.
            fusion: How the legs are normalized and combined; ``None`` is the setting stored
                with the index, else min_max + arithmetic mean, 0.5/0.5.
            rerank: Whether the cross-encoder runs at all.
            rerank_timeout: Seconds reranking may take; past them the fused order is returned,
                with the reason.
            rerank_weight: The cross-encoder's share of a reranked passage's final score,
                ``w · p + (1 − w) · norm(fused)`` with ``p`` its probability and the fused
                score min-max normalized over the pool (``esrerank.fusion.final_order``); the
                pool is scored in fused order until nothing unscored can enter the top
                ``top_k``; at 0 the cross-encoder does not run. ``None`` is the weight stored
                with the index for this reranker, else 0.2; where the tuner chose the ensemble
                (``esrerank.fusion.ensemble``), the dense top ``rerank_depth`` is reranked and
                fused 1:1 with BM25's hits.
            filter: Query DSL clauses (``esrerank.backends.filters``) both legs apply, so every
                hit matches them and each leg still returns up to ``candidates`` passages.
            draft: Whether a checked route (``esrerank.models.runtimes``) scores with its fast
                draft first; ``False`` scores every pair exactly (the same order, slower, and
                every score then stands in for a later draft in the reranker's memory).

        Returns:
            A ``SearchResult``: the hits with every stage's score and rank, each leg's own
            hits, whether and how reranking ran, the timings and any engine warnings.

        Raises:
            ConfigError: a setting out of range, an empty query or a bad filter.
            IndexNotFoundError, IndexMismatchError, BackendError: the index cannot be searched
                with this bi-encoder.
        """
        query = valid_unicode(query)
        if not query.strip():
            raise ConfigError("The query is empty. Pass some text to search for.")
        for name, value in (
            ("top_k", top_k),
            ("candidates", candidates),
            ("rerank_depth", rerank_depth),
        ):
            if value is not None and value < 1:
                raise ConfigError(f"`{name}` must be at least 1, got {value}.", settings=(name,))
        clauses = filter_clauses(filter)
        if rerank_weight is not None and not 0 <= rerank_weight <= 1:
            raise ConfigError(
                f"`rerank_weight` must be between 0 and 1, got {rerank_weight}.",
                settings=("rerank_weight",),
            )
        if rerank and isinstance(self.reranker_choice, str):
            # asked of the hub while the query embeds and retrieves
            expect_model(self.reranker_choice)
        timings: dict[str, float] = {}
        encoder = self.checked_encoder()
        vector = _timed(timings, "embed", lambda: encoder.encode_queries([query])[0])
        bm25, dense = _timed(
            timings,
            "retrieve",
            lambda: self.backend.both_legs(self.handle.name, query, vector, candidates, clauses),
        )
        return self.rank(
            query,
            {BM25: bm25, DENSE: dense},
            top_k=top_k,
            rerank_depth=rerank_depth,
            fusion=fusion,
            rerank=rerank,
            rerank_timeout=rerank_timeout,
            rerank_weight=rerank_weight,
            warnings=leg_warnings(bm25, dense),
            timings=timings,
            filter=clauses,
            draft=draft,
        )

    def rank(
        self,
        query: str,
        legs: dict[str, list[LegHit]],
        *,
        top_k: int = DEFAULT_TOP_K,
        rerank_depth: int | None = None,
        fusion: FusionSpec | None = None,
        rerank: bool = True,
        rerank_timeout: float | None = None,
        rerank_weight: float | None = None,
        warnings: tuple[str, ...] = (),
        timings: dict[str, float] | None = None,
        filter: tuple[dict, ...] = (),
        draft: bool = True,
    ) -> SearchResult:
        """The final order of hits already retrieved (``legs``: BM25's and the dense leg's,
        best first): fused, the fused top ``rerank_depth`` reranked, the best ``top_k`` kept.
        ``search`` calls it after retrieving; ``serve`` with legs it retrieved itself. The
        options are ``search``'s."""
        timings = {} if timings is None else timings
        bm25, dense = legs[BM25], legs[DENSE]
        fusion = fusion or self.handle.stored_fusion()
        reranker = self.reranker if rerank and rerank_weight != 0 else None
        off = "rerank weight 0" if rerank else "reranking turned off"
        ensemble = rerank_weight is None and self.handle.stored_ensemble(_name(reranker))
        if rerank_weight is None:
            rerank_weight = self.handle.stored_rerank_weight(_name(reranker))
            if rerank_weight == 0 and reranker is not None:
                reranker = None
                off = (
                    "rerank weight 0, tuned with the index: reranking did not beat the fused order"
                )
        if rerank_depth is None:
            rerank_depth = self.handle.stored_rerank_depth(_name(reranker))
        fused = _timed(timings, "fusion", lambda: fuse_hits(legs, fusion))
        passages = {h.passage.passage_id: h.passage for hits in legs.values() for h in hits}
        pool = ([h.passage.passage_id for h in dense] if ensemble else list(fused.order))[
            :rerank_depth
        ]
        reason = off if reranker is None else "nothing was retrieved to rerank"
        if reranker is not None and pool:
            texts = [passages[pid].content for pid in pool]
            reason = reranker.unreadable([query, *texts[:READ_CHECK_PASSAGES]])
        ranked: FinalOrder | None = None
        recalled = 0
        if reranker is not None and pool and not reason:
            started = time.perf_counter()
            scoring = _PoolScoring(reranker, query, texts, rerank_timeout)
            try:
                if ensemble:
                    ranked = _ensemble_order(scoring, pool, bm25)
                else:
                    ranked = final_order(
                        pool,
                        [fused.scores[p] for p in pool],
                        rerank_weight,
                        top_k,
                        scoring.scorer(draft=draft),
                        min(reranker.batch_size, STOP_BATCH),
                        fused.order[len(pool) :],
                        scoring.check() if draft else None,
                    )
            except RerankFailure as failure:
                reason = failure.reason
            timings["rerank"] = time.perf_counter() - started
            recalled = scoring.recalled
        if ranked is None:
            ranked = FinalOrder(list(fused.order[:top_k]), dict(fused.scores), {}, 0, len(pool))
        hits = _hits(ranked, passages, legs, fused)
        return SearchResult(
            query=query,
            hits=hits,
            fusion=fusion,
            legs=legs,
            fused=fused,
            reranked=not reason,
            reranker=reranker.name if reranker is not None else None,
            reranker_runtime=reranker.runtime.describe() if reranker is not None else None,
            rerank_reason=reason,
            rerank_weight=rerank_weight if not reason else 0.0,
            rerank_scored=ranked.scored,
            rerank_checked=ranked.checked,
            rerank_pool=ranked.pool if not reason else 0,
            rerank_recalled=recalled if not reason else 0,
            timings=timings,
            ensemble=ensemble and not reason,
            warnings=warnings,
            filter=filter,
        )

    def checked_encoder(self) -> BiEncoder:
        """The bi-encoder, once checked against the one that built the index (read first, so a
        missing index fails before any model loads)."""
        meta = self.handle.meta()
        encoder = self.models.bi_encoder(self.handle.encoder_choice())
        meta.check_model(self.handle.name, encoder.name, encoder.dimension)
        return encoder

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
                bm25 = self.backend.bm25_many(self.handle.name, batch, candidates)
                dense = self.backend.dense_many(self.handle.name, vectors, candidates)
                legs += [{BM25: b, DENSE: d} for b, d in zip(bm25, dense, strict=True)]
                bar.update(len(batch))
        for warning in leg_warnings(*(leg for query in legs for leg in query.values())):
            log.warning("%s", warning)
        return legs


def _name(reranker: Reranker | None) -> str | None:
    return reranker.name if reranker is not None else None


def _timed(timings: dict[str, float], stage: str, work: Callable):
    started = time.perf_counter()
    result = work()
    timings[stage] = time.perf_counter() - started
    return result


class _PoolScoring:
    """Scores pool positions with ``reranker``, counting the scores its memory answered; a
    timeout counts from the first batch."""

    def __init__(
        self, reranker: Reranker, query: str, texts: list[str], timeout: float | None
    ) -> None:
        self.reranker, self.query, self.texts, self.timeout = reranker, query, texts, timeout
        self.started = time.perf_counter()
        self.recalled = 0

    def scorer(self, draft: bool = False) -> Scorer:
        """Scores on the reranker's fast route with ``draft`` (where its route is checked)."""

        def score(positions: list[int]):
            spent = time.perf_counter() - self.started
            left = None if self.timeout is None else self.timeout - spent
            if left is not None and left <= 0:
                raise RerankFailure(f"timed out after {spent:.1f}s (limit {self.timeout:g}s)")
            texts = [self.texts[i] for i in positions]
            outcome = self.reranker.score(self.query, texts, left, draft)
            if not outcome.reranked:
                raise RerankFailure(outcome.reason)
            self.recalled += outcome.recalled
            return outcome.scores

        return score

    def check(self) -> Check | None:
        """The exact route behind the reranker's fast one, when its route is checked."""
        if self.reranker.draft_error is None:
            return None
        return Check(self.scorer(), self.reranker.draft_error)


def _ensemble_order(scoring: _PoolScoring, pool: list[str], bm25: list[LegHit]) -> FinalOrder:
    """The study's ensemble: the whole dense pool scored, fused 1:1 with BM25's hits."""
    scores = scoring.scorer()(list(range(len(pool))))
    rerank = dict(zip(pool, map(float, scores), strict=True))
    fused = ensemble_fusion(leg_scores(bm25), rerank)
    return FinalOrder(list(fused.order), fused.scores, rerank, len(pool), len(pool))


def _hits(
    ranked: FinalOrder,
    passages: dict[str, Passage],
    legs: dict[str, list[LegHit]],
    fused: FusionResult,
) -> list[Hit]:
    """The hits of ``ranked.order`` with every stage's score; the rerank rank is among the
    passages the cross-encoder scored."""
    leg_index = {name: {h.passage.passage_id: h for h in hits} for name, hits in legs.items()}
    fused_rank = {pid: rank for rank, pid in enumerate(fused.order, start=1)}
    by_rerank = sorted(ranked.rerank, key=lambda pid: -ranked.rerank[pid])
    rerank_stage = {
        pid: StageScore(ranked.rerank[pid], rank) for rank, pid in enumerate(by_rerank, start=1)
    }

    def leg_stage(name: str, pid: str) -> StageScore:
        hit = leg_index[name].get(pid)
        return StageScore(hit.score, hit.rank) if hit else StageScore()

    return [
        Hit(
            passage=passages[pid],
            rank=rank,
            bm25=leg_stage(BM25, pid),
            dense=leg_stage(DENSE, pid),
            fused=StageScore(fused.scores[pid], fused_rank[pid]),
            rerank=rerank_stage.get(pid, StageScore()),
            final=StageScore(ranked.final.get(pid), rank),
            normalized={
                name: scores[pid] for name, scores in fused.normalized.items() if pid in scores
            },
        )
        for rank, pid in enumerate(ranked.order, start=1)
    ]
