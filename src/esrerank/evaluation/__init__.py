"""``esrerank eval``: retrieval strategies compared on judged queries, and fusion tuning."""

from __future__ import annotations

import time
from pathlib import Path

from ..fusion import FusionSpec
from ..pipeline import Searcher
from ..rerank import ENSEMBLE, INTERPOLATE
from .data import EvalData, index_name_for, load_eval_data
from .report import markdown, write
from .runner import Evaluation, add_rerank_scores, evaluate_strategies, retrieve
from .strategies import DEFAULT_STRATEGIES, RERANKED, SINGLE, STRATEGIES, check_strategies
from .tune import tune, tune_rerank_weight

# The rerank weight is tuned on at most this many of the tuning queries (a seeded sample): each
# costs a cross-encoder pass over its pool (1.5-3.5 s on two cores), and 300 paired queries
# already tell a gain of about 0.015 nDCG@10 from chance.
RERANK_TUNING_QUERIES = 300

__all__ = [
    "DEFAULT_STRATEGIES",
    "EvalData",
    "RERANKED",
    "Evaluation",
    "STRATEGIES",
    "check_strategies",
    "index_name_for",
    "load_eval_data",
    "markdown",
    "run_eval",
    "write",
]


def run_eval(
    searcher: Searcher,
    data: EvalData,
    strategies: list[str],
    *,
    candidates: int,
    depth: int,
    cache_path: Path,
    tune_on: EvalData | None = None,
    progress: bool = False,
) -> Evaluation:
    """Score ``strategies`` on ``data``; with ``tune_on``, first choose the fusion on those
    queries and store it with the index, so ``hybrid`` (and ``query``) use it; when a strategy
    reranks, then the rerank weight for that fusion too."""
    tuning = None
    if tune_on is not None:
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
        if any(s in RERANKED for s in strategies):
            tuning["rerank"] = _tune_rerank_weight(
                searcher, tune_on, runs, chosen.chosen, depth, cache_path, progress
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


def _tune_rerank_weight(
    searcher: Searcher,
    data: EvalData,
    runs: dict,
    fusion: FusionSpec,
    depth: int,
    cache_path: Path,
    progress: bool,
) -> dict:
    """Choose the rerank weight for ``fusion`` on (a sample of) ``data`` and store it with the
    index."""
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
    searcher.handle.store_rerank_weight(chosen.weight, record, mode)
    return {"weight": chosen.weight, "mode": mode, **record}
