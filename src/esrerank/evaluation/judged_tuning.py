"""Tuning an index from a person's judgments, with the same out-of-fold guard as ``eval --tune``,
for the workbench's button and ``esrerank judgments tune``: what the guard chose and why, the
measures before and after, how many judged queries it would take to decide, and a change made
only where the guard kept it, remembered so it can be undone.

Unlike ``eval --tune``, nothing is changed where the guard keeps nothing: a fusion that does not
beat the better leg, or a rerank weight that does not beat the fused order, leaves the index's
setting as it was."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..backends.judgments import Judgment
from ..config import DEFAULT_CANDIDATES, DEFAULT_RERANK_DEPTH, cache_dir
from ..fusion import FusionSpec
from ..fusion.ensemble import ENSEMBLE, INTERPOLATE
from ..searcher import Searcher
from ..types import BM25, DENSE
from .judgments import judged_data
from .plan import require_eval_extra
from .runner import add_rerank_scores, retrieve
from .strategies import ranking
from .tune import (
    FOLDS,
    LEGS,
    T_CRITICAL,
    ordering_trial,
    tune,
    tune_rerank_weight,
    verdict,
)

# Below this many judged queries the guard is not asked: each of its folds needs queries to
# pick on and to check on.
MIN_QUERIES = 2 * FOLDS


def tune_on_judgments(
    searcher: Searcher,
    judgments: Iterable[Judgment],
    *,
    rerank: bool = True,
    apply: bool = True,
    candidates: int = DEFAULT_CANDIDATES,
    depth: int = DEFAULT_RERANK_DEPTH,
    cache_path: Path | None = None,
) -> dict[str, Any]:
    """Run the guarded tuning on the judged queries of ``searcher``'s index; with ``apply``,
    store the changes the guard kept (remembering the settings before, for ``undo_tuning``).
    The record says what was tried, kept and why."""
    require_eval_extra()
    data = judged_data(judgments, searcher.index)
    handle = searcher.handle
    count = len(data.queries)
    record: dict[str, Any] = {"index": searcher.index, "queries": count, "changes": []}
    if count < MIN_QUERIES:
        record["decided"] = False
        record["why"] = (
            f"{count} judged queries with a relevant document: too few for the guard to "
            f"decide anything (it needs at least {MIN_QUERIES}, and most often more). "
            "Judge more queries."
        )
        return record
    runs = retrieve(searcher, data, candidates, progress=False)
    ids = sorted(runs)

    def measure(label: str, order_of) -> float:
        return ordering_trial(label, order_of, runs, data.qrels, ids).score

    fusion_before = handle.stored_fusion()
    fusion = tune(runs, data.qrels)
    fusion_after = fusion.chosen if fusion.fused_kept else fusion_before
    record["decided"] = True
    record["changes"].append(
        _change(
            "fusion",
            fusion_before.describe(),
            fusion.best_fused.spec.describe(),
            fusion.fused_kept and fusion.chosen != fusion_before,
            fusion.fused_kept,
            _why(
                fusion.fused_kept,
                fusion.best_fused.spec.describe(),
                f"{fusion.best_leg} alone",
                fusion.out_of_fold_gain,
                fusion.t_statistic,
            ),
            fusion.out_of_fold_gain,
            fusion.t_statistic,
            count,
        )
    )
    measures = {
        BM25: {"before": measure(BM25, lambda run: ranking(BM25, run, LEGS[BM25], depth))},
        DENSE: {"before": measure(DENSE, lambda run: ranking(DENSE, run, LEGS[DENSE], depth))},
        "hybrid": {
            "before": measure("before", lambda run: ranking("hybrid", run, fusion_before, depth)),
            "after": measure("after", lambda run: ranking("hybrid", run, fusion_after, depth)),
        },
    }
    for leg in (BM25, DENSE):
        measures[leg]["after"] = measures[leg]["before"]
    chosen_weight = None
    if rerank:
        reranker = searcher.reranker.name
        weight_before = handle.stored_rerank_weight(reranker)
        ensemble_before = handle.stored_ensemble(reranker)
        strategies = ["hybrid+rerank", "ensemble"]
        cache_path = cache_path or cache_dir() / "rerank-scores.sqlite"
        for fusion_of in dict.fromkeys([fusion_before, fusion_after]):
            add_rerank_scores(searcher, data, runs, strategies, fusion_of, depth, cache_path, False)
        weight = tune_rerank_weight(runs, data.qrels, fusion_after, depth)
        kept = weight.chosen != 0
        chosen_weight = weight if kept else None
        state_before = ENSEMBLE if ensemble_before else weight_before
        state_after = ENSEMBLE if weight.chosen == ENSEMBLE else weight.weight
        before_label = "the ensemble" if ensemble_before else f"weight {weight_before:g}"
        best = "the ensemble" if weight.best.spec == ENSEMBLE else f"weight {weight.best.spec:g}"
        record["changes"].append(
            _change(
                "rerank",
                before_label,
                best,
                kept and state_after != state_before,
                kept,
                _why(kept, best, "the fused order", weight.out_of_fold_gain, weight.t_statistic),
                weight.out_of_fold_gain,
                weight.t_statistic,
                count,
            )
        )

        def reranked(fusion_of: FusionSpec, weight_of: float, ensemble: bool):
            if ensemble:
                return lambda run: ranking(ENSEMBLE, run, fusion_of, depth)
            return lambda run: ranking("hybrid+rerank", run, fusion_of, depth, weight_of)

        weight_after, ensemble_after = (
            (weight.weight, weight.chosen == ENSEMBLE) if kept else (weight_before, ensemble_before)
        )
        measures["hybrid+rerank"] = {
            "before": measure("before", reranked(fusion_before, weight_before, ensemble_before)),
            "after": measure("after", reranked(fusion_after, weight_after, ensemble_after)),
        }
    record["measures"] = measures
    record["measure"] = "ndcg@10 on the judged queries"
    if apply and any(change["applied"] for change in record["changes"]):
        _apply(searcher, record, fusion, chosen_weight, count)
    record["applied"] = apply and any(change["applied"] for change in record["changes"])
    record["history"] = len(handle.tuning_history())
    return record


def _apply(searcher: Searcher, record: dict, fusion, weight, count: int) -> None:
    """Store the kept changes, remembering the settings before them."""
    handle = searcher.handle
    changed = [c["setting"] for c in record["changes"] if c["applied"]]
    handle.remember_tuning(f"tuned from {count} judged queries: {', '.join(changed)}")
    why = {"tuned_on": f"{searcher.index} judgments", "tuning_queries": count}
    if "fusion" in changed:
        handle.store_fusion(fusion.chosen, {**why, "why": fusion.reason()})
    if "rerank" in changed:
        mode = ENSEMBLE if weight.chosen == ENSEMBLE else INTERPOLATE
        stored = {**why, "reranker": searcher.reranker.name, "why": weight.reason()}
        handle.store_rerank_weight(weight.weight, stored, mode)


def _why(kept: bool, best: str, baseline: str, gain: float, t_statistic: float) -> str:
    """The guard's verdict on ``best`` against ``baseline``; not kept, the index keeps its
    setting (where ``eval --tune`` would fall back to the baseline)."""
    return verdict(
        kept,
        f"{best} beats {baseline}",
        f"the index keeps its setting: the gain of {best} over {baseline}",
        gain,
        t_statistic,
    )


def _change(
    setting: str,
    before: str,
    best: str,
    applied: bool,
    kept: bool,
    why: str,
    gain: float,
    t_statistic: float,
    count: int,
) -> dict[str, Any]:
    return {
        "setting": setting,
        "before": before,
        "best": best,
        "kept": kept,
        "applied": applied,
        "why": why,
        "out_of_fold_gain": gain,
        "t": t_statistic if math.isfinite(t_statistic) else None,
        "queries_needed": queries_needed(count, gain, t_statistic),
    }


def change_summary(change: dict[str, Any]) -> str:
    """One change of a record in words: the best tried, what became of it and why."""
    verdict = (
        "applied" if change["applied"] else "kept, already set" if change["kept"] else "not kept"
    )
    text = f"{change['setting']}: {change['before']} -> best {change['best']}: {verdict}. "
    text += change["why"]
    if not change["kept"] and change["queries_needed"]:
        text += f"; about {change['queries_needed']} judged queries would decide it"
    return text


def queries_needed(count: int, gain: float, t_statistic: float) -> int | None:
    """About how many judged queries the guard needs to keep a change with this out-of-fold
    gain and spread: the t statistic grows with the square root of the queries, so
    ``count · (T_CRITICAL / t)²``; None when no gain was seen (more queries would not help)."""
    if gain <= 0 or t_statistic <= 0:
        return None
    if not math.isfinite(t_statistic) or t_statistic > T_CRITICAL:
        return count
    return math.ceil(count * (T_CRITICAL / t_statistic) ** 2)
