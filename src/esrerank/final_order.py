"""The final order of a reranked pool, scoring only the passages that can still reach the top.

A pool passage's final score is ``w · s + (1 − w) · f``: ``s`` the cross-encoder's probability
(bounded in [0, 1]), ``f`` its fused score min-max normalized over the pool. Before the model
sees a passage, its final score cannot exceed ``w + (1 − w) · f``. The pool is scored in fused
order, a batch at a time, and scoring stops once no unscored passage's bound beats the
``top_k``-th best final score so far: a passage tying it would rank below it (the pool position
breaks ties), so the first ``top_k`` are exactly those of scoring the whole pool.

``query``, ``eval`` and ``serve`` all order a reranked pool with ``final_order``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .fusion.normalize import min_max

# The final-score formula's name, stored with a tuned rerank weight: a weight tuned under
# another formula does not carry over.
FORMULA = "w*p+(1-w)*min_max(fused)"

# Passages scored per model call while stopping early. On a CPU a pair costs the same in a call
# of 4 as of 64 (benchmarks/results/rerank-batching-scifact.md: fp32 18-20 ms a pair), so small
# calls waste nothing and stop closer to the last passage needed: a median of 11 for a top 5 at
# w = 0.2 on SciFact, against 16 in calls of 16.
STOP_BATCH = 8

# Scores a batch of pool positions; raises ``RerankFailure`` when the model cannot.
Scorer = Callable[[list[int]], Sequence[float]]


class RerankFailure(Exception):
    """The cross-encoder could not score a batch (a timeout, a model error): ``reason`` says
    why, and the search keeps its fused order."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FinalOrder:
    """The first ``top_k`` of the final order, and what the cross-encoder scored to know it."""

    order: list[str]  # pool passages by final score, then the passages after the pool
    final: dict[str, float]  # id -> final score, for every passage scored
    rerank: dict[str, float]  # id -> the cross-encoder's probability, for every passage scored
    scored: int  # how many of the pool's passages the cross-encoder scored
    pool: int  # how many passages the pool holds


def final_score(weight: float, probability: float, fused: float) -> float:
    """``weight · probability + (1 − weight) · fused``; the one formula, so the bound used to
    stop early is computed exactly as the scores it bounds."""
    return weight * probability + (1 - weight) * fused


def final_order(
    pool: Sequence[str],
    fused: Sequence[float],
    weight: float,
    top_k: int,
    score: Scorer,
    batch_size: int,
    following: Sequence[str] = (),
) -> FinalOrder:
    """Order ``pool`` (ids in fused order, ``fused`` their fused scores) by final score, scoring
    with ``score`` only until nothing unscored can enter the first ``top_k``; ``following``
    (the fused order past the pool) comes after the pool."""
    if batch_size < 1 or top_k < 1:
        raise ValueError(f"batch_size and top_k must be at least 1, got {batch_size}, {top_k}")
    normalized = min_max(dict(enumerate(fused)))
    bounds = [final_score(weight, 1.0, normalized[i]) for i in range(len(pool))]
    probabilities: dict[int, float] = {}
    finals: dict[int, float] = {}
    unscored = list(range(len(pool)))
    while unscored:
        threshold = _kth_best(finals, top_k)
        unscored = [i for i in unscored if bounds[i] > threshold]
        batch, unscored = unscored[:batch_size], unscored[batch_size:]
        if not batch:
            break
        for i, probability in zip(batch, score(batch), strict=True):
            probabilities[i] = float(probability)
            finals[i] = final_score(weight, probabilities[i], normalized[i])
    ranked = sorted(finals, key=lambda i: (-finals[i], i))
    order = [pool[i] for i in ranked]
    if len(order) == len(pool):
        order += list(following)
    return FinalOrder(
        order=order[:top_k],
        final={pool[i]: finals[i] for i in ranked},
        rerank={pool[i]: probabilities[i] for i in ranked},
        scored=len(finals),
        pool=len(pool),
    )


def _kth_best(finals: dict[int, float], k: int) -> float:
    """The ``k``-th best final score so far; minus infinity while fewer than ``k`` are known."""
    if len(finals) < k:
        return -math.inf
    return sorted(finals.values(), reverse=True)[k - 1]
