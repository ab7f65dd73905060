"""The engine's own answer with its hits reordered and re-scored: every key the engine sent
stays as it sent it (``_shards``, ``aggregations``, ``suggest``, each hit's ``_index``, ``_id``,
``_source``, ``fields``, ``highlight``), except ``hits.hits`` (the page of the final order, each
hit's ``_score`` the final score), ``hits.max_score`` and, for hits only the dense leg found,
``hits.total``."""

from __future__ import annotations

import copy
from typing import Any

from ..search.pipeline import SearchResult
from ..types import Hit


def hit_key(hit: dict[str, Any]) -> str:
    """A hit's identity across the indices one name may cover."""
    return f"{hit.get('_index', '')}/{hit.get('_id', '')}"


def final_scores(result: SearchResult) -> dict[str, float]:
    """Each hit's score in the final order: its final score, else (past the rerank depth) its
    fused score."""
    return {
        hit.passage_id: hit.final.score if hit.final.score is not None else hit.fused.score
        for hit in result.hits
    }


def reordered_answer(
    answer: dict[str, Any],
    page: list[dict[str, Any]],
    scores: dict[str, float],
    max_score: float | None,
    added: int,
) -> dict[str, Any]:
    """``answer`` (the engine's, for the widened search) with ``page`` as its hits, each
    scored from ``scores``, and ``added`` documents the dense leg found counted in the total."""
    rebuilt = dict(answer)
    hits = dict(answer.get("hits") or {})
    placed = []
    for hit in page:
        entry = dict(hit)
        entry["_score"] = scores[hit_key(hit)]
        if "sort" in entry:
            entry["sort"] = [entry["_score"]]
        placed.append(entry)
    hits["hits"] = placed
    if "max_score" in hits:
        hits["max_score"] = max_score
    total = hits.get("total")
    if isinstance(total, int) and not isinstance(total, bool):
        hits["total"] = total + added
    elif isinstance(total, dict) and isinstance(total.get("value"), int):
        hits["total"] = {**total, "value": total["value"] + added}
    rebuilt["hits"] = hits
    return rebuilt


def explanation(hit: Hit, engine: dict | None, result: SearchResult) -> dict[str, Any]:
    """An engine-shaped ``_explanation`` of a hit's final score: the lexical leg's own
    explanation (the engine's, for the application's query), the dense leg's score, their
    normalization and fusion, and the cross-encoder's share."""
    lexical = {
        "value": hit.bm25.score or 0.0,
        "description": "lexical leg: the engine's score for the application's query"
        + ("" if hit.bm25.score is not None else " (no lexical match)"),
        "details": [copy.deepcopy(engine)] if engine else [],
    }
    dense = {
        "value": hit.dense.score or 0.0,
        "description": f"dense leg: kNN similarity to the query text [{result.query[:200]}]"
        + ("" if hit.dense.score is not None else " (not among the nearest)"),
        "details": [],
    }
    normalized = [
        {"value": score, "description": f"{leg} normalized", "details": []}
        for leg, score in sorted(hit.normalized.items())
    ]
    fused = {
        "value": hit.fused.score,
        "description": f"fused: {result.fusion.describe()}",
        "details": normalized,
    }
    parts = [lexical, dense, fused]
    if hit.rerank.score is not None:
        parts.append(
            {
                "value": hit.rerank.score,
                "description": f"cross-encoder {result.reranker} probability, weight "
                f"{result.rerank_weight:g} of the final score ({result.rerank_scored} of the "
                f"{result.rerank_pool} pool passages scored)",
                "details": [],
            }
        )
        how = (
            f"final: {result.rerank_weight:g} x cross-encoder probability + "
            f"{1 - result.rerank_weight:g} x min_max(fused) over the rerank pool"
        )
    else:
        how = "final: the fused score" + (
            f" (not reranked: {result.rerank_reason})" if result.rerank_reason else ""
        )
    value = hit.final.score if hit.final.score is not None else hit.fused.score
    return {"value": value, "description": f"esrerank {how}", "details": parts}
