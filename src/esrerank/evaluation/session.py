"""Evaluate strategies on judged queries, and tune the index's fusion and rerank weight."""

from __future__ import annotations

import time
from pathlib import Path

from ..config import DEFAULT_CANDIDATES, DEFAULT_RERANK_DEPTH, cache_dir
from ..fusion import FusionSpec
from ..fusion.ensemble import ENSEMBLE, INTERPOLATE
from ..searcher import Searcher
from .data import EvalData
from .plan import require_eval_extra
from .runner import Evaluation, add_rerank_scores, evaluate_strategies, retrieve
from .strategies import DEFAULT_STRATEGIES, RERANKED, SINGLE
from .tune import tune, tune_rerank_depth, tune_rerank_weight

# The rerank weight is tuned on at most this many of the tuning queries (a seeded sample): each
# costs a cross-encoder pass over its pool (1.5-3.5 s on two cores), and 300 paired queries
# already tell a gain of about 0.015 nDCG@10 from chance.
RERANK_TUNING_QUERIES = 300


def evaluate(
    searcher: Searcher,
    data: EvalData,
    strategies: list[str] = DEFAULT_STRATEGIES,
    *,
    candidates: int = DEFAULT_CANDIDATES,
    depth: int | None = None,
    cache_path: Path | None = None,
    tune_on: EvalData | None = None,
    progress: bool = False,
) -> Evaluation:
    """Score ``strategies`` on ``data``; with ``tune_on``, first tune the index on those
    queries (``tune_index``: the fusion, and when a strategy reranks the rerank weight), so
    ``hybrid`` (and ``query``) use what was chosen. ``depth=None`` reranks as ``query`` does:
    the index's tuned depth, else 100 (the most tuning tries). Reranker scores are cached in
    ``cache_path`` (default: the data folder's cache)."""
    require_eval_extra()
    cache_path = cache_path or cache_dir() / "rerank-scores.sqlite"
    tuning = None
    if tune_on is not None:
        rerank = any(s in RERANKED for s in strategies)
        tuning = tune_index(
            searcher,
            tune_on,
            rerank=rerank,
            candidates=candidates,
            depth=depth or DEFAULT_RERANK_DEPTH,
            cache_path=cache_path,
            progress=progress,
        )
        strategies = list(dict.fromkeys([*SINGLE, "hybrid", *strategies]))
    evaluation = evaluate_strategies(
        searcher,
        data,
        strategies,
        candidates=candidates,
        depth=depth,
        cache_path=cache_path,
        progress=progress,
    )
    if tuning is not None:
        figures = evaluation.figures
        best_leg = max(SINGLE, key=lambda leg: figures[leg]["ndcg@10"])
        tuning["test_ndcg@10"] = figures["hybrid"]["ndcg@10"]
        tuning["best_leg"] = best_leg
        tuning["best_leg_test_ndcg@10"] = figures[best_leg]["ndcg@10"]
        if "hybrid+rerank" in figures and "rerank" in tuning:
            tuning["rerank"]["test_ndcg@10"] = figures["hybrid+rerank"]["ndcg@10"]
        evaluation.tuning = tuning
    return evaluation


def tune_index(
    searcher: Searcher,
    tune_on: EvalData,
    *,
    rerank: bool = True,
    candidates: int = DEFAULT_CANDIDATES,
    depth: int = DEFAULT_RERANK_DEPTH,
    cache_path: Path | None = None,
    progress: bool = False,
) -> dict:
    """Choose the fusion on ``tune_on`` (kept only where it beats the best single leg out of
    fold), and with ``rerank`` the rerank weight for it, and store both with the index; the
    record of what was chosen and why."""
    require_eval_extra()
    cache_path = cache_path or cache_dir() / "rerank-scores.sqlite"
    runs = retrieve(searcher, tune_on, candidates, progress)
    chosen = tune(runs, tune_on.qrels)
    score = next(t.score for t in chosen.trials if t.spec == chosen.chosen)
    tuning = {
        "tuned_on": f"{tune_on.name} {tune_on.split}",
        "tuning_queries": len(runs),
        "tuning_ndcg@10": score,
        "why": chosen.reason(),
        "date": time.strftime("%Y-%m-%d"),
    }
    searcher.handle.store_fusion(chosen.chosen, tuning)
    tuning["describe"] = chosen.chosen.describe()
    tuning["top_settings"] = [
        {"fusion": t.spec.describe(), "ndcg@10": t.score} for t in chosen.trials[:10]
    ]
    if rerank:
        tuning["rerank"] = _tune_rerank_weight(
            searcher, tune_on, runs, chosen.chosen, depth, cache_path, progress
        )
    return tuning


def _tune_rerank_weight(
    searcher: Searcher,
    data: EvalData,
    runs: dict,
    fusion: FusionSpec,
    depth: int,
    cache_path: Path,
    progress: bool,
) -> dict:
    """Choose the rerank weight for ``fusion`` on (a sample of) ``data``, then the shallowest
    rerank depth up to ``depth`` that keeps its nDCG@10, and store both with the index."""
    if len(data.queries) > RERANK_TUNING_QUERIES:
        data = data.sample(RERANK_TUNING_QUERIES, seed=13)
        runs = {q: runs[q] for q in data.queries}
    strategies = ["hybrid+rerank", "ensemble"]
    add_rerank_scores(searcher, data, runs, strategies, fusion, depth, cache_path, progress)
    chosen = tune_rerank_weight(runs, data.qrels, fusion, depth)
    record = {
        "reranker": searcher.reranker.name,
        "tuned_on": f"{data.name} {data.split}",
        "tuning_queries": len(runs),
        "tuning_ndcg@10": next(t.score for t in chosen.trials if t.spec == chosen.chosen),
        "unreranked_tuning_ndcg@10": chosen.unreranked.score,
        "why": chosen.reason(),
        "date": time.strftime("%Y-%m-%d"),
    }
    mode = ENSEMBLE if chosen.chosen == ENSEMBLE else INTERPOLATE
    record["depth"] = depth
    if mode == INTERPOLATE and chosen.weight > 0:
        depths = tune_rerank_depth(runs, data.qrels, fusion, chosen.weight, depth)
        record["depth"] = depths.chosen
        record["depth_why"] = depths.reason()
        record["depth_trials"] = {str(t.spec): t.score for t in depths.trials}
    searcher.handle.store_rerank_weight(chosen.weight, record, mode)
    return {"weight": chosen.weight, "mode": mode, **record}
