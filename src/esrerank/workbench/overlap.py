"""How alike two rankings of the same query are: the Jaccard overlap of their sets, and
rank-biased overlap (Webber, Moffat and Zobel 2010), which weighs agreement at the top more
than further down."""

from __future__ import annotations

from collections.abc import Sequence

RBO_PERSISTENCE = 0.9  # p: the top 10 carry about 86% of the weight


def jaccard(first: Sequence[str], second: Sequence[str]) -> float:
    """Shared items over all items; 1 for two empty lists."""
    union = set(first) | set(second)
    return len(set(first) & set(second)) / len(union) if union else 1.0


def rank_biased_overlap(
    first: Sequence[str], second: Sequence[str], p: float = RBO_PERSISTENCE
) -> float:
    """Extrapolated RBO of two rankings cut at the same depth (equation 32 of the paper): the
    agreement at each depth ``d`` (shared items over ``d``), weighted by ``p**d``, with the
    agreement at the last depth assumed to go on; 1 for identical rankings, 0 for disjoint
    ones."""
    depth = min(len(first), len(second))
    if depth == 0:
        return 1.0 if len(first) == len(second) else 0.0
    seen_first: set[str] = set()
    seen_second: set[str] = set()
    shared = 0
    total = 0.0
    for d in range(1, depth + 1):
        a, b = first[d - 1], second[d - 1]
        if a == b:
            shared += 1
        else:
            shared += (a in seen_second) + (b in seen_first)
        seen_first.add(a)
        seen_second.add(b)
        total += shared / d * p**d
    return shared / depth * p**depth + (1 - p) / p * total
