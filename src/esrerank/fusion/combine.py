"""Weighted combinations of one id's normalized scores across legs.

Each function takes the per-leg scores and the matching weights (same order) and returns one
number. Weights need not sum to 1: each mean divides by their sum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def arithmetic(scores: Sequence[float], weights: Sequence[float]) -> float:
    """``sum(w*s) / sum(w)``."""
    return sum(w * s for w, s in zip(weights, scores, strict=True)) / sum(weights)


def geometric(scores: Sequence[float], weights: Sequence[float]) -> float:
    """``exp(sum(w*ln s) / sum(w))``; 0.0 as soon as one weighted score is 0."""
    if any(s <= 0 and w > 0 for w, s in zip(weights, scores, strict=True)):
        return 0.0
    total = sum(w * math.log(s) for w, s in zip(weights, scores, strict=True) if w > 0)
    return math.exp(total / sum(weights))


def harmonic(scores: Sequence[float], weights: Sequence[float]) -> float:
    """``sum(w) / sum(w/s)``; 0.0 as soon as one weighted score is 0."""
    if any(s <= 0 and w > 0 for w, s in zip(weights, scores, strict=True)):
        return 0.0
    return sum(weights) / sum(w / s for w, s in zip(weights, scores, strict=True) if w > 0)


COMBINATIONS = {"arithmetic": arithmetic, "geometric": geometric, "harmonic": harmonic}

# Combinations that need scores >= 0 (z-scores can be negative).
NEEDS_NON_NEGATIVE = frozenset({"geometric", "harmonic"})
