"""Retrieval strategies, each turning one query's legs (and cross-encoder scores) into a ranking.

- ``bm25``, ``dense``: one leg alone.
- ``hybrid:<method>``: both legs fused with that normalization (or rrf), arithmetic mean 0.5/0.5.
- ``hybrid``: both legs fused the index's way (a setting stored by ``--tune``, else min_max).
- ``dense+rerank``: the dense top ``depth`` reordered by the cross-encoder (the study's).
- ``hybrid+rerank``: the fused top ``depth`` reordered by the cross-encoder's score blended with
  the fused one (``rerank_weight``, the index's tuned weight, as ``query`` does; 1 = the
  cross-encoder alone).
- ``ensemble``: the study's combination, BM25's hits and the cross-encoder scores of the dense
  top ``depth``, each min-max normalized and averaged 1:1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError
from ..fusion import METHODS, FusionResult, FusionSpec, fuse_hits, leg_scores
from ..fusion.ensemble import ensemble_fusion
from ..fusion.final_order import FinalOrder, final_order
from ..types import BM25, DENSE, LEGS, LegHit
from .measures import doc_ranking

SINGLE = LEGS
FUSED = tuple(f"hybrid:{method}" for method in METHODS)
RERANKED = ("dense+rerank", "hybrid+rerank", "ensemble")
STRATEGIES = (*SINGLE, *FUSED, "hybrid", *RERANKED)
DEFAULT_STRATEGIES = STRATEGIES


@dataclass(frozen=True)
class QueryRun:
    """One query's retrieval: each leg's hits, best first, and cross-encoder scores by id."""

    legs: dict[str, list[LegHit]]
    rerank: dict[str, float] = field(default_factory=dict)


def check_strategies(names: list[str]) -> list[str]:
    unknown = [name for name in names if name not in STRATEGIES]
    if unknown:
        raise ConfigError(f"Unknown strategy '{unknown[0]}'. Choose from {', '.join(STRATEGIES)}.")
    return names


def rerank_pools(run: QueryRun, strategies: list[str], fusion: FusionSpec, depth: int) -> set[str]:
    """Passage ids the cross-encoder must score for these strategies."""
    pool: set[str] = set()
    if "dense+rerank" in strategies or "ensemble" in strategies:
        pool.update(_ids(run.legs[DENSE])[:depth])
    if "hybrid+rerank" in strategies:
        pool.update(fused_order(run, fusion)[:depth])
    return pool


def ranking(
    strategy: str, run: QueryRun, fusion: FusionSpec, depth: int, rerank_weight: float = 1.0
) -> list[str]:
    """Passage ids, best first, for ``strategy``; ``fusion`` is the index's own setting."""
    if strategy == "bm25":
        return _ids(run.legs[BM25])
    if strategy == "dense":
        return _ids(run.legs[DENSE])
    if strategy == "hybrid":
        return fused_order(run, fusion)
    if strategy.startswith("hybrid:"):
        return fused_order(run, FusionSpec(strategy.split(":", 1)[1]))
    if strategy == "dense+rerank":
        dense = leg_scores(run.legs[DENSE])
        return _rerank(run, list(dense), dense, depth, 1.0)
    if strategy == "hybrid+rerank":
        fused = _fused(run, fusion)
        return _rerank(run, list(fused.order), fused.scores, depth, rerank_weight)
    if strategy == "ensemble":
        pool = _ids(run.legs[DENSE])[:depth]
        if any(pid not in run.rerank for pid in pool):  # not reranked: the index's fused order
            return fused_order(run, fusion)
        bm25 = leg_scores(run.legs[BM25])
        return list(ensemble_fusion(bm25, {pid: run.rerank[pid] for pid in pool}).order)
    raise ConfigError(f"Unknown strategy '{strategy}'.")


def fused_order(run: QueryRun, spec: FusionSpec) -> list[str]:
    return list(_fused(run, spec).order)


def _fused(run: QueryRun, spec: FusionSpec) -> FusionResult:
    return fuse_hits(run.legs, spec)


def document_ranking(run: QueryRun, passage_ids: list[str]) -> list[str]:
    """Documents in the order their first passage appears in ``passage_ids``."""
    docs = {h.passage.passage_id: h.passage.doc_id for hits in run.legs.values() for h in hits}
    return doc_ranking([docs[pid] for pid in passage_ids])


def _rerank(
    run: QueryRun, order: list[str], scores: dict[str, float], depth: int, weight: float
) -> list[str]:
    """``order`` (scored ``scores``) with its top ``depth`` in final order, as ``query`` ranks
    them (``esrerank.fusion.final_order``), from the cross-encoder scores the run holds."""
    if weight == 0 or any(pid not in run.rerank for pid in order[:depth]):
        return order
    return _final(run, order, scores, depth, weight, len(order), depth).order


def scored_for_page(
    run: QueryRun, fusion: FusionSpec, depth: int, weight: float, top_k: int, batch_size: int
) -> int | None:
    """How many passages ``query`` has the cross-encoder score for a page of ``top_k`` (None
    when the run was not reranked)."""
    fused = _fused(run, fusion)
    order = list(fused.order)
    if weight == 0 or any(pid not in run.rerank for pid in order[:depth]):
        return None
    return _final(run, order, fused.scores, depth, weight, top_k, batch_size).scored


def _final(run, order, scores, depth, weight, top_k, batch_size) -> FinalOrder:
    pool = order[:depth]
    return final_order(
        pool,
        [scores[pid] for pid in pool],
        weight,
        top_k,
        lambda positions: [run.rerank[pool[i]] for i in positions],
        batch_size,
        order[depth:],
    )


def _ids(hits: list[LegHit]) -> list[str]:
    return [hit.passage.passage_id for hit in hits]
