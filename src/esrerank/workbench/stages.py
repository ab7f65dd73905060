"""A search laid out stage by stage: each stage's top hits as a column (BM25, dense, fused,
final), and for every passage shown its score and rank at every stage, its fields and where the
query's terms occur in it."""

from __future__ import annotations

from typing import Any

from ..backends.analysis import token_spans
from ..search.pipeline import SearchResult
from ..types import BM25, DENSE

COLUMNS = (BM25, DENSE, "fused", "final")
STAGES = (BM25, DENSE, "fused", "rerank", "final")


def stage_view(result: SearchResult, size: int, analyzer: str = "standard") -> dict[str, Any]:
    """The top ``size`` passages of each stage of ``result`` and every shown passage's scores.

    Query terms are marked as ``analyzer`` splits them (``term_marks``). ``result`` should
    hold every retrieved passage in its final order (searched with ``top_k``
    at least the number retrieved), so that a passage one leg ranks high has a final rank too.
    """
    columns = {
        BM25: [h.passage.passage_id for h in result.legs[BM25][:size]],
        DENSE: [h.passage.passage_id for h in result.legs[DENSE][:size]],
        "fused": list(result.fused.order[:size]),
        "final": [h.passage_id for h in result.hits[:size]],
    }
    hits = {h.passage_id: h for h in result.hits}
    shown = dict.fromkeys(pid for column in columns.values() for pid in column)
    passages = {}
    for pid in shown:
        hit = hits.get(pid)
        if hit is None:  # beyond the final order (not reached by it): its legs' scores only
            continue
        entry = hit.to_dict()
        del entry["rank"]
        entry["marks"] = term_marks(result.query, hit.text, analyzer)
        entry["title_marks"] = term_marks(result.query, hit.title, analyzer)
        passages[pid] = entry
    columns = {name: [pid for pid in column if pid in passages] for name, column in columns.items()}
    return {"columns": columns, "passages": passages}


def term_marks(query: str, text: str, analyzer: str = "standard") -> list[list[int]]:
    """Where ``query``'s tokens occur in ``text`` under ``analyzer`` (the index's BM25
    analysis as the embedded store runs it: ``standard`` or ``cjk``): sorted, non-overlapping
    ``[start, end)`` character spans."""
    wanted = {token for token, _, _ in token_spans(query, analyzer)}
    merged: list[list[int]] = []
    for token, start, end in token_spans(text, analyzer):
        if token not in wanted:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged
