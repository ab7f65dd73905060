"""The terminal renderings of a search result."""

from __future__ import annotations

import pytest

from esrerank.cli.render import explain
from esrerank.fusion import FusionSpec, fuse_hits
from esrerank.search.pipeline import SearchResult
from esrerank.types import Hit, LegHit, Passage, StageScore


def _leg(scored):
    return [
        LegHit(Passage(pid, pid, "", pid, 0, 0, 1, pid), score, rank)
        for rank, (pid, score) in enumerate(scored, start=1)
    ]


def test_explain_shows_the_floor_fusion_used_for_a_leg_whose_hits_all_tie():
    legs = {"bm25": _leg([("a", 2.0), ("b", 2.0)]), "dense": _leg([("c", 0.9), ("a", 0.5)])}
    fused = fuse_hits(legs, FusionSpec())
    c = Hit(
        passage=legs["dense"][0].passage,
        rank=1,
        bm25=StageScore(),
        dense=StageScore(0.9, 1),
        fused=StageScore(fused.scores["c"], 1),
        rerank=StageScore(),
        final=StageScore(fused.scores["c"], 1),
        normalized={"dense": fused.normalized["dense"]["c"]},
    )
    result = SearchResult("q", [c], FusionSpec(), legs, fused, False, None, "off")
    text = explain(result)
    assert "bm25   not returned by this leg -> floor 0.0000" in text  # 1.0 before: min of ties
    assert "dense  raw 0.9000 (rank 1) -> min_max 1.0000" in text
    with pytest.deprecated_call():
        assert c.knn == c.dense  # the earlier name still reads the dense stage
