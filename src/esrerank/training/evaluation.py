"""Dev-split figures computed during training: MRR@10 of re-ranked retrieval candidates, and
Pearson / Spearman correlation for scored pairs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .data import DevQuery, ScoredPair

DEV_DEPTH = 30  # candidates per dev query that a model re-ranks


def reciprocal_rank(relevant: Sequence[bool], cutoff: int = 10) -> float:
    """1 / rank of the first relevant item within ``cutoff``, else 0."""
    for rank, hit in enumerate(relevant[:cutoff], start=1):
        if hit:
            return 1.0 / rank
    return 0.0


def retrieval_mrr(dev: Sequence[DevQuery], depth: int = DEV_DEPTH) -> float:
    """MRR@10 of the candidates in their retrieval order: the figure a model has to beat."""
    return float(
        np.mean([reciprocal_rank([c.relevant for c in q.candidates[:depth]]) for q in dev])
    )


def reranked_mrr(
    dev: Sequence[DevQuery],
    score: Callable[[str, list[str]], np.ndarray],
    depth: int = DEV_DEPTH,
) -> float:
    """MRR@10 after ordering each query's top ``depth`` candidates by ``score(query, texts)``;
    ties keep the retrieval order."""
    values = []
    for item in dev:
        candidates = item.candidates[:depth]
        scores = score(item.query, [c.text for c in candidates])
        order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
        values.append(reciprocal_rank([candidates[i].relevant for i in order]))
    return float(np.mean(values))


def correlations(pairs: Sequence[ScoredPair], predicted: np.ndarray) -> dict[str, float]:
    """Pearson and Spearman correlation between predicted and gold scores."""
    from scipy.stats import pearsonr, spearmanr

    gold = np.array([p.score for p in pairs], dtype=np.float64)
    return {
        "pearson": float(pearsonr(predicted, gold)[0]),
        "spearman": float(spearmanr(predicted, gold)[0]),
    }
