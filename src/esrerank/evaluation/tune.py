"""Choosing a fusion setting on tuning queries: normalization x combination x weights, and RRF
with its k, scored by document nDCG@10.

The grid holds each leg alone (weights 1/0 and 0/1). The best of some 120 settings always looks
better than it is on the queries it was picked on, so the choice is checked by cross-validation:
the tuning queries are cut into folds; on each fold, the best fused setting and the better leg
are picked on the other folds and compared on this one. Fusion is kept only when this
out-of-fold gain in nDCG@10 is more than chance would explain (one-sided paired t-test at the 5%
level); otherwise the better leg alone is chosen.

The rerank weight is chosen the same way for the chosen fusion (``tune_rerank_weight``): the best
of the weights above 0 and the study's ensemble (BM25 + the reranked dense top, 1:1) against the
fused order alone, kept only when it wins out of fold.

The rerank depth then (``tune_rerank_depth``): the shallowest pool whose nDCG@10 falls short of
the best depth, picked out of fold, by no more than chance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..fusion import COMBINATIONS, FusionSpec
from ..fusion.combine import NEEDS_NON_NEGATIVE
from ..fusion.ensemble import ENSEMBLE
from .measures import evaluate_per_query
from .strategies import QueryRun, document_ranking, fused_order, ranking

WEIGHTS = tuple(round(w / 10, 1) for w in range(11))  # BM25's (or the reranker's) weight
RRF_KS = (10.0, 30.0, 60.0, 100.0)
MEASURE = "ndcg@10"
LEGS = {"bm25": FusionSpec(weights=(1.0, 0.0)), "dense": FusionSpec(weights=(0.0, 1.0))}
T_CRITICAL = 1.645  # one-sided 5% (normal approximation; tuning sets have 100s of queries)
FOLDS = 5
DEPTHS = (20, 30, 50, 100)  # rerank depths tried, shallowest (cheapest) first


@dataclass(frozen=True)
class Trial:
    spec: FusionSpec | float | str  # a fusion setting, a rerank weight, or ENSEMBLE
    scores: np.ndarray  # per query, in query id order

    @property
    def score(self) -> float:
        return float(self.scores.mean()) if len(self.scores) else 0.0


@dataclass(frozen=True)
class Tuning:
    """The chosen setting, why, and every trial (best first)."""

    chosen: FusionSpec
    best_fused: Trial
    best_leg: str
    leg: Trial
    out_of_fold_gain: float  # mean nDCG@10 gain of fusion picked without the query judged
    t_statistic: float
    trials: list[Trial]

    @property
    def fused_kept(self) -> bool:
        return self.chosen == self.best_fused.spec

    def reason(self) -> str:
        return verdict(
            self.fused_kept,
            f"fusion beats {self.best_leg} alone",
            f"{self.best_leg} alone, since fusion's gain over it",
            self.out_of_fold_gain,
            self.t_statistic,
        )


def fusion_grid() -> list[FusionSpec]:
    """Every setting tried; the default (min_max, arithmetic, 0.5/0.5) first, so it wins ties."""
    grid = [FusionSpec()]
    for method in ("min_max", "z_score", "l2"):
        for combination in COMBINATIONS:
            if method == "z_score" and combination in NEEDS_NON_NEGATIVE:
                continue
            grid += [FusionSpec(method, combination, (w, round(1 - w, 1))) for w in WEIGHTS]
    for k in RRF_KS:
        grid += [FusionSpec("rrf", weights=(w, round(1 - w, 1)), rrf_k=k) for w in WEIGHTS]
    return list(dict.fromkeys(grid))


def tune(runs: dict[str, QueryRun], qrels: dict[str, dict[str, int]], seed: int = 13) -> Tuning:
    """Score every setting of the grid on ``runs`` and choose one (see the module doc)."""
    query_ids = sorted(q for q in runs if q in qrels)
    trials = [
        ordering_trial(spec, lambda run, spec=spec: fused_order(run, spec), runs, qrels, query_ids)
        for spec in fusion_grid()
    ]
    legs = [t for t in trials if t.spec in LEGS.values()]
    fused = [t for t in trials if t.spec not in LEGS.values()]
    everyone = np.ones(len(query_ids), dtype=bool)
    leg = _best(legs, everyone)
    best_fused = _best(fused, everyone)
    gains = _out_of_fold_gains(fused, legs, len(query_ids), seed)
    t_statistic = _paired_t(gains)
    return Tuning(
        chosen=best_fused.spec if t_statistic > T_CRITICAL else leg.spec,
        best_fused=best_fused,
        best_leg=next(name for name, spec in LEGS.items() if spec == leg.spec),
        leg=leg,
        out_of_fold_gain=float(gains.mean()) if len(gains) else 0.0,
        t_statistic=t_statistic,
        trials=sorted(trials, key=lambda t: -t.score),
    )


@dataclass(frozen=True)
class WeightTuning:
    """The rerank weight (or ``ENSEMBLE``) chosen for the index's fusion, why, and every
    candidate's trial."""

    chosen: float | str
    best: Trial  # the best candidate: a weight above 0, or the ensemble
    unreranked: Trial  # weight 0: the fusion alone
    out_of_fold_gain: float
    t_statistic: float
    trials: list[Trial]

    @property
    def weight(self) -> float:
        """The cross-encoder's share of the final score (the ensemble replaces dense by it)."""
        return 1.0 if self.chosen == ENSEMBLE else float(self.chosen)

    def reason(self) -> str:
        winner = (
            "the study's ensemble (BM25 + the reranked dense top, 1:1)"
            if self.chosen == ENSEMBLE
            else f"reranking at weight {self.chosen:g}"
        )
        return verdict(
            self.chosen != 0,
            f"{winner} beats the fused order",
            "no reranking (weight 0), since the best candidate's gain over the fused order",
            self.out_of_fold_gain,
            self.t_statistic,
        )


def tune_rerank_weight(
    runs: dict[str, QueryRun],
    qrels: dict[str, dict[str, int]],
    fusion: FusionSpec,
    depth: int,
    seed: int = 13,
) -> WeightTuning:
    """Choose the rerank weight (0, 0.1, ..., 1) for ``fusion``, or the study's ensemble, the
    way ``tune`` chooses fusion: the best candidate is kept only when, picked out of fold, it
    beats the fused order (weight 0) by more than chance; ``runs`` carry the cross-encoder's
    scores of the fused pool and of the dense top ``depth``."""
    query_ids = sorted(q for q in runs if q in qrels)
    trials = [
        _reranked_trial(weight, runs, qrels, query_ids, fusion, depth, weight) for weight in WEIGHTS
    ]
    trials.append(
        ordering_trial(
            ENSEMBLE, lambda run: ranking(ENSEMBLE, run, fusion, depth), runs, qrels, query_ids
        )
    )
    unreranked, candidates = trials[0], trials[1:]
    everyone = np.ones(len(query_ids), dtype=bool)
    best = _best(candidates, everyone)
    gains = _out_of_fold_gains(candidates, [unreranked], len(query_ids), seed)
    t_statistic = _paired_t(gains)
    return WeightTuning(
        chosen=best.spec if t_statistic > T_CRITICAL else 0.0,
        best=best,
        unreranked=unreranked,
        out_of_fold_gain=float(gains.mean()) if len(gains) else 0.0,
        t_statistic=t_statistic,
        trials=trials,
    )


@dataclass(frozen=True)
class DepthTuning:
    """The rerank depth chosen, why, and every depth's trial (shallowest first)."""

    chosen: int
    best: Trial
    out_of_fold_loss: float  # mean nDCG@10 the chosen depth gives up against the best
    t_statistic: float
    trials: list[Trial]

    def reason(self) -> str:
        return (
            f"depth {self.chosen}: the shallowest pool within chance of the best "
            f"({self.out_of_fold_loss:+.3f} nDCG@10 below it out of fold, paired t = "
            f"{self.t_statistic:.2f} <= {T_CRITICAL})"
        )


def tune_rerank_depth(
    runs: dict[str, QueryRun],
    qrels: dict[str, dict[str, int]],
    fusion: FusionSpec,
    weight: float,
    max_depth: int,
    seed: int = 13,
) -> DepthTuning:
    """The shallowest rerank depth (of ``DEPTHS`` up to ``max_depth``, and ``max_depth``) whose
    nDCG@10 at ``weight`` is not below the best depth's, picked out of fold, by more than chance;
    ``runs`` carry the cross-encoder's scores of the fused top ``max_depth``."""
    query_ids = sorted(q for q in runs if q in qrels)
    depths = [d for d in DEPTHS if d < max_depth] + [max_depth]
    trials = [
        _reranked_trial(depth, runs, qrels, query_ids, fusion, depth, weight) for depth in depths
    ]
    best = _best(trials, np.ones(len(query_ids), dtype=bool))
    for trial in trials:  # the deepest is kept when every shallower one loses
        losses = _out_of_fold_gains(trials, [trial], len(query_ids), seed)
        t_statistic = _paired_t(losses)
        if t_statistic <= T_CRITICAL or trial is trials[-1]:
            break
    loss = float(losses.mean()) if len(losses) else 0.0
    return DepthTuning(int(trial.spec), best, loss, t_statistic, trials)


def verdict(kept: bool, winner: str, fallback: str, gain: float, t_statistic: float) -> str:
    """Why a candidate was kept (``winner`` by its gain) or not (``fallback``'s gain is chance)."""
    gain_text = f"{gain:+.3f} nDCG@10 out of fold"
    if kept:
        return f"{winner} by {gain_text} (paired t = {t_statistic:.2f} > {T_CRITICAL})"
    return (
        f"{fallback}, {gain_text}, is within chance (paired t = {t_statistic:.2f} <= {T_CRITICAL})"
    )


def _best(trials: list[Trial], rows: np.ndarray) -> Trial:
    """The trial with the best mean over ``rows``; the earliest of equals."""
    return max(trials, key=lambda t: float(t.scores[rows].mean()) if rows.any() else 0.0)


def _out_of_fold_gains(fused: list[Trial], legs: list[Trial], count: int, seed: int):
    """Per query: the best candidate (fused setting, rerank weight) minus the best baseline
    (the better leg, the fused order), both picked on other folds."""
    fold = np.random.default_rng(seed).permutation(count) % FOLDS
    gains = np.zeros(count)
    for number in range(min(FOLDS, count)):
        held, rest = fold == number, fold != number
        if not rest.any():
            continue
        gains[held] = _best(fused, rest).scores[held] - _best(legs, rest).scores[held]
    return gains


def ordering_trial(
    spec: FusionSpec | float,
    order_of: Callable[[QueryRun], list[str]],
    runs,
    qrels,
    query_ids: list[str],
) -> Trial:
    """Per-query nDCG@10 of the passage order ``order_of(run)`` gives each query."""
    rankings = {q: document_ranking(runs[q], order_of(runs[q])) for q in query_ids}
    per_query = evaluate_per_query({q: qrels[q] for q in query_ids}, rankings, cutoffs=(10,))
    return Trial(spec, np.array([per_query[q][MEASURE] for q in query_ids]))


def _reranked_trial(spec, runs, qrels, query_ids, fusion: FusionSpec, depth: int, weight: float):
    """The trial of ``hybrid+rerank`` at ``depth`` and ``weight``, labelled ``spec``."""
    return ordering_trial(
        spec,
        lambda run: ranking("hybrid+rerank", run, fusion, depth, weight),
        runs,
        qrels,
        query_ids,
    )


def _paired_t(differences: np.ndarray) -> float:
    """Mean over its standard error; 0 when there is no spread (and no difference)."""
    if len(differences) < 2:
        return 0.0
    spread = float(differences.std(ddof=1))
    if spread == 0:
        return math.copysign(math.inf, differences.mean()) if differences.mean() else 0.0
    return float(differences.mean()) / (spread / math.sqrt(len(differences)))
