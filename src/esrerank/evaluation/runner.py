"""Running strategies over judged queries: legs retrieved in batches, cross-encoder scores
computed once per (query, passage) and cached, rankings scored per document with trec_eval."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from ..config import DEFAULT_TOP_K
from ..fusion import FusionSpec
from ..fusion.final_order import STOP_BATCH
from ..models.reranker import READ_CHECK_PASSAGES
from ..searcher import Searcher
from .data import EvalData
from .measures import evaluate
from .rerank_cache import RerankCache
from .strategies import (
    RERANKED,
    QueryRun,
    document_ranking,
    fused_order,
    ranking,
    rerank_pools,
    scored_for_page,
)


@dataclass
class Evaluation:
    """Figures per strategy on one split, and what produced them."""

    data: str
    split: str
    queries: int
    backend: str
    index: str
    bi_encoder: str
    analyzer: str
    fusion: str  # the index's own fusion ("hybrid", "hybrid+rerank")
    candidates: int
    rerank_depth: int
    reranker: str | None
    figures: dict[str, dict[str, float]]
    timings: dict[str, float]
    tuning: dict | None = None  # how the index's fusion was chosen, when this run tuned it
    reranker_runtime: str | None = None  # the route the reranker ran on, e.g. "openvino fp32"
    rerank_weight: float | None = None  # the cross-encoder's share in the reranked strategies
    labels: dict[str, str] = field(default_factory=dict)  # strategy -> row name, where it differs

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def retrieve(
    searcher: Searcher, data: EvalData, candidates: int, progress: bool
) -> dict[str, QueryRun]:
    """Both legs of every query of ``data``."""
    ids = list(data.queries)
    queries = [data.queries[q] for q in ids]
    legs = searcher.pipeline.legs_many(queries, candidates, progress=progress)
    return {q: QueryRun(leg) for q, leg in zip(ids, legs, strict=True)}


def add_rerank_scores(
    searcher: Searcher,
    data: EvalData,
    runs: dict[str, QueryRun],
    strategies: list[str],
    fusion: FusionSpec,
    depth: int,
    cache_path: Path,
    progress: bool,
) -> list[float]:
    """Cross-encoder scores for every passage a reranking strategy needs (none for a query the
    reranker cannot read, whose reranked strategies keep their order); seconds per query."""
    cache = RerankCache(cache_path, searcher.reranker, searcher.reranker.max_length)
    seconds = []
    try:
        for q in tqdm(runs, unit="query", desc="rerank", disable=not progress):
            run = runs[q]
            passages = {h.passage.passage_id: h.passage for hits in run.legs.values() for h in hits}
            pool = rerank_pools(run, strategies, fusion, depth)
            started = time.perf_counter()
            texts = [passages[p].content for p in fused_order(run, fusion)[:READ_CHECK_PASSAGES]]
            if not searcher.reranker.unreadable([data.queries[q], *texts]):
                run.rerank.update(cache.scores(data.queries[q], [passages[p] for p in pool]))
            seconds.append(time.perf_counter() - started)
    finally:
        cache.close()
    return seconds


def score(
    data: EvalData,
    runs: dict[str, QueryRun],
    strategies: list[str],
    fusion: FusionSpec,
    depth: int,
    rerank_weight: float = 1.0,
    ensemble: bool = False,
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, list[str]]]]:
    """trec_eval figures and document rankings per strategy; with ``ensemble`` (the index's
    tuned reranking), ``hybrid+rerank`` ranks as ``ensemble`` does, as ``query`` would."""
    figures, rankings = {}, {}
    for strategy in strategies:
        way = "ensemble" if ensemble and strategy == "hybrid+rerank" else strategy
        rankings[strategy] = {
            q: document_ranking(run, ranking(way, run, fusion, depth, rerank_weight))
            for q, run in runs.items()
        }
        figures[strategy] = evaluate(data.qrels, rankings[strategy])
    return figures, rankings


def evaluate_strategies(
    searcher: Searcher,
    data: EvalData,
    strategies: list[str],
    *,
    candidates: int,
    depth: int | None,
    cache_path: Path,
    progress: bool,
) -> Evaluation:
    """Retrieve, rerank where needed and score every strategy on ``data``; ``depth=None`` is
    the index's own rerank depth, as ``query`` uses."""
    fusion = searcher.handle.stored_fusion()
    if fusion == FusionSpec() and f"hybrid:{fusion.method}" in strategies:
        strategies = [s for s in strategies if s != "hybrid"]  # the same ranking twice
    started = time.perf_counter()
    runs = retrieve(searcher, data, candidates, progress)
    timings = {"retrieve_seconds": time.perf_counter() - started}
    timings["retrieve_ms_per_query"] = 1000 * timings["retrieve_seconds"] / max(1, len(runs))
    reranker = reranker_runtime = weight = None
    ensemble = False
    reranks = any(s in RERANKED for s in strategies)
    if depth is None:
        name = searcher.reranker.name if reranks else None
        depth = searcher.handle.stored_rerank_depth(name)
    if reranks:
        ensemble = searcher.handle.stored_ensemble(searcher.reranker.name)
        pools = [*strategies, "ensemble"] if ensemble else strategies
        seconds = add_rerank_scores(
            searcher, data, runs, pools, fusion, depth, cache_path, progress
        )
        timings["rerank_seconds_median_per_query"] = statistics.median(seconds)
        reranker = searcher.reranker.name
        reranker_runtime = searcher.reranker.runtime.describe()
        weight = searcher.handle.stored_rerank_weight(searcher.reranker.name)
    figures, _ = score(
        data, runs, strategies, fusion, depth, weight if weight is not None else 1.0, ensemble
    )
    if weight and not ensemble and "hybrid+rerank" in strategies:
        batch = min(searcher.reranker.batch_size, STOP_BATCH)
        scored = [
            n
            for run in runs.values()
            if (n := scored_for_page(run, fusion, depth, weight, DEFAULT_TOP_K, batch)) is not None
        ]
        if scored:
            timings["rerank_scored_median_top5"] = statistics.median(scored)
    meta = searcher.meta()
    backend = searcher.backend
    return Evaluation(
        data=data.name,
        split=data.split,
        queries=len(runs),
        backend=f"{backend.engine} {backend.version}",
        index=searcher.index,
        bi_encoder=meta.model,
        analyzer=meta.analyzer,
        fusion=fusion.describe(),
        candidates=candidates,
        rerank_depth=depth,
        reranker=reranker,
        reranker_runtime=reranker_runtime,
        rerank_weight=weight,
        figures=figures,
        timings=timings,
        labels=_labels(searcher, weight, ensemble),
    )


def _labels(searcher: Searcher, weight: float | None, ensemble: bool) -> dict[str, str]:
    """Row names that say how the index's own strategies were set: tuned or default."""
    extra = searcher.meta().extra
    labels = {"hybrid": "hybrid (tuned)" if "fusion" in extra else "hybrid (index default)"}
    if weight is not None:  # reranked: the reranker is loaded
        tuned = (extra.get("rerank") or {}).get("reranker") == searcher.reranker.name
        if ensemble:
            labels["hybrid+rerank"] = "hybrid + rerank (tuned: the ensemble)"
        else:
            labels["hybrid+rerank"] = f"hybrid + rerank ({'tuned ' if tuned else ''}w={weight:g})"
    return labels
