"""``esrerank eval``: retrieval strategies compared on judged queries, and fusion tuning."""

from __future__ import annotations

import time
from pathlib import Path

from ..pipeline import Searcher
from .data import EvalData, index_name_for, load_eval_data
from .report import markdown, write
from .runner import Evaluation, evaluate_strategies, retrieve
from .strategies import DEFAULT_STRATEGIES, RERANKED, SINGLE, STRATEGIES, check_strategies
from .tune import tune

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
    queries and store it with the index, so ``hybrid`` (and ``query``) use it."""
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
        searcher.store_fusion(chosen.chosen, tuning)
        tuning["describe"] = chosen.chosen.describe()
        tuning["top_settings"] = [
            {"fusion": t.spec.describe(), "ndcg@10": t.score} for t in chosen.trials[:10]
        ]
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
        evaluation.tuning = tuning
    return evaluation
