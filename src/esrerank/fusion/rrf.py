"""Reciprocal rank fusion (Cormack et al. 2009), weighted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def rrf(
    rankings: Sequence[Mapping[str, int]], weights: Sequence[float], k: float = 60.0
) -> dict[str, float]:
    """``sum over legs of w / (k + rank)`` with 1-based ranks; a leg that missed an id adds 0."""
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for key, rank in ranking.items():
            fused[key] = fused.get(key, 0.0) + weight / (k + rank)
    return fused
