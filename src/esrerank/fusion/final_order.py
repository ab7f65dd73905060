"""The final order of a reranked pool, scoring only the passages that can still reach the top.

A pool passage's final score is ``w · s + (1 − w) · f``: ``s`` the cross-encoder's probability
(bounded in [0, 1]), ``f`` its fused score min-max normalized over the pool. Before the model
sees a passage, its final score cannot exceed ``w + (1 − w) · f``. The pool is scored in fused
order, a batch at a time, and scoring stops once no unscored passage's bound beats the
``top_k``-th best final score so far: a passage tying it would rank below it (the pool position
breaks ties), so the first ``top_k`` are exactly those of scoring the whole pool.

A fast, approximate route (OpenVINO bf16) may do the scoring when a ``Check`` comes with it: the
exact route (fp32) and a bound on how far apart the two can be. Each draft final score is then an
interval; the passages whose intervals leave the top ``top_k`` or its order in doubt are scored
again exactly, until nothing is in doubt, so the answer is the exact route's whenever the bound
holds (benchmarks/results/rerank-cost-*.md measures it).

``query``, ``eval`` and ``serve`` all order a reranked pool with ``final_order``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .normalize import min_max

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


@dataclass(frozen=True)
class Check:
    """The exact route behind a faster one: ``score`` gives exact probabilities, and
    ``error(p)`` bounds how far the fast route's probability ``p`` may lie from them."""

    score: Scorer
    error: Callable[[float], float]


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
    checked: int = 0  # of those, how many the exact route scored again (with a ``Check``)


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
    check: Check | None = None,
) -> FinalOrder:
    """Order ``pool`` (ids in fused order, ``fused`` their fused scores) by final score, scoring
    with ``score`` only until nothing unscored can enter the first ``top_k``; ``following``
    (the fused order past the pool) comes after the pool. With ``check``, ``score`` is a fast
    route and ``check.score`` settles what its error leaves in doubt."""
    if batch_size < 1 or top_k < 1:
        raise ValueError(f"batch_size and top_k must be at least 1, got {batch_size}, {top_k}")
    normalized = min_max(dict(enumerate(fused)))
    bounds = [final_score(weight, 1.0, normalized[i]) for i in range(len(pool))]
    scores = _Scores(weight, normalized)
    unscored = list(range(len(pool)))
    while unscored:
        threshold = scores.kth_lowest(top_k)
        unscored = [i for i in unscored if bounds[i] > threshold]
        batch, unscored = unscored[:batch_size], unscored[batch_size:]
        if not batch:
            break
        scores.add(batch, score(batch), check.error if check else None)
    checked = 0
    while check is not None and (doubtful := scores.in_doubt(top_k)):
        batch = doubtful[:batch_size]  # an exact score may settle the rest
        scores.add(batch, check.score(batch), None)
        checked += len(batch)
    ranked = sorted(scores.final, key=lambda i: (-scores.final[i], i))
    order = [pool[i] for i in ranked]
    if len(order) == len(pool):
        order += list(following)
    return FinalOrder(
        order=order[:top_k],
        final={pool[i]: scores.final[i] for i in ranked},
        rerank={pool[i]: scores.probability[i] for i in ranked},
        scored=len(ranked),
        pool=len(pool),
        checked=checked,
    )


class _Scores:
    """The pool positions scored so far: probability, final score, and the final score's
    margin of error (0 when exact)."""

    def __init__(self, weight: float, normalized: dict[int, float]) -> None:
        self.weight = weight
        self.normalized = normalized
        self.probability: dict[int, float] = {}
        self.final: dict[int, float] = {}
        self.margin: dict[int, float] = {}

    def add(
        self,
        positions: list[int],
        probabilities: Sequence[float],
        error: Callable[[float], float] | None,
    ) -> None:
        for i, probability in zip(positions, probabilities, strict=True):
            self.probability[i] = float(probability)
            self.final[i] = final_score(self.weight, self.probability[i], self.normalized[i])
            self.margin[i] = self.weight * error(self.probability[i]) if error else 0.0

    def kth_lowest(self, k: int) -> float:
        """The ``k``-th best of the final scores' lower ends; minus infinity while fewer than
        ``k`` are known. At least ``k`` passages score this much."""
        lows = sorted((self.final[i] - self.margin[i] for i in self.final), reverse=True)
        return lows[k - 1] if len(lows) >= k else -math.inf

    def in_doubt(self, k: int) -> list[int]:
        """The inexact positions that may belong to the first ``k`` and whose interval meets
        another such passage's, best first: their exact scores may change the first ``k`` or
        its order."""
        if not self.final:
            return []
        threshold = self.kth_lowest(min(k, len(self.final)))
        contenders = [i for i in self.final if self.final[i] + self.margin[i] >= threshold]
        doubtful = [
            i
            for i in contenders
            if self.margin[i] > 0 and any(self._meet(i, j) for j in contenders if j != i)
        ]
        return sorted(doubtful, key=lambda i: (-self.final[i], i))

    def _meet(self, i: int, j: int) -> bool:
        return (
            self.final[i] - self.margin[i] <= self.final[j] + self.margin[j]
            and self.final[j] - self.margin[j] <= self.final[i] + self.margin[i]
        )
