"""The ensemble: the rerank mode that won the KLUE-MRC retrieval study.

BM25's hits and the cross-encoder's scores over the dense pool, each min_max normalized over its
own list and averaged 1:1. It is the other way, beside blending the rerank score into the fused
order (``final_order``), for reranked scores to make the final order; ``eval --tune`` picks
between them.
"""

from __future__ import annotations

from . import FusionResult, FusionSpec, fuse

# How reranked scores make the final order: blended with the fused scores, or the ensemble.
INTERPOLATE = "interpolate"
ENSEMBLE = "ensemble"


def ensemble_fusion(bm25: dict[str, float], rerank: dict[str, float]) -> FusionResult:
    """BM25's hits and the reranked dense pool (id -> score each), min_max normalized and
    averaged 1:1."""
    return fuse({"bm25": bm25, "rerank": rerank}, FusionSpec())
