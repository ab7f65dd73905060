"""The workbench's searches, fast: columns per stage with the ranks the Python API gives, query
terms marked, and a what-if that reorders the legs already retrieved (``tests/memory.py``'s
in-memory backend, hashing bi-encoder and word-overlap reranker)."""

from __future__ import annotations

import pytest

from esrerank.errors import ConfigError
from esrerank.fusion import FusionSpec
from esrerank.workbench.searches import Settings, WorkbenchSearches
from esrerank.workbench.stages import term_marks
from tests.memory import (
    MemoryBackend,
    memory_searcher,
)

DOCS = {
    f"d{n}": f"{topic} study number {n} of {n * 7} adults over {n} years."
    for n, topic in enumerate(
        [
            "Vitamin D supplements and bone fractures",
            "Bariatric surgery and mortality in obesity",
            "Statins and cardiovascular events",
            "Exercise and bone density in older adults",
            "Surgery for obesity and colorectal cancer",
            "Vitamin C and the common cold",
        ]
        * 3
    )
}


class CountingBackend(MemoryBackend):
    def __init__(self) -> None:
        super().__init__()
        self.retrievals = 0

    def both_legs(self, *args, **kwargs):
        self.retrievals += 1
        return super().both_legs(*args, **kwargs)


@pytest.fixture
def searcher(tmp_path):
    return memory_searcher(tmp_path, DOCS, CountingBackend())


@pytest.fixture
def searches(searcher):
    return WorkbenchSearches(lambda index: searcher)


def test_columns_hold_each_stages_top_with_the_ranks_the_api_gives(searcher, searches):
    view = searches.search("docs", "bone fractures in older adults", size=5)
    api = searcher.search("bone fractures in older adults", top_k=5)
    assert view["columns"]["final"] == [h.passage_id for h in api.hits]
    assert view["columns"]["bm25"] == [h.passage.passage_id for h in api.legs["bm25"][:5]]
    assert view["columns"]["dense"] == [h.passage.passage_id for h in api.legs["dense"][:5]]
    assert view["columns"]["fused"] == list(api.fused.order[:5])
    for hit in api.hits:
        shown = view["passages"][hit.passage_id]
        assert shown["ranks"]["final"] == hit.rank
        assert shown["ranks"]["fused"] == hit.fused.rank
        assert shown["scores"]["rerank"] == pytest.approx(hit.rerank.score)
    for column in view["columns"].values():  # every passage shown has its stages
        for pid in column:
            ranks = view["passages"][pid]["ranks"]
            assert ranks["final"] is not None and ranks["fused"] is not None
    assert view["reranked"] and not view["reused"]
    assert view["rerank_scored"] == view["rerank_pool"]  # the whole pool, once


def test_a_what_if_reorders_the_same_legs_without_retrieving(searcher, searches):
    query = "surgery for obesity"
    first = searches.search("docs", query, Settings(rerank_weight=0.0))
    retrievals = searcher.backend.retrievals
    heavy = searches.search("docs", query, Settings(rerank_weight=1.0), reuse=True)
    assert heavy["reused"] and searcher.backend.retrievals == retrievals
    assert not first["reranked"] and heavy["reranked"]
    assert heavy["columns"]["fused"] == first["columns"]["fused"]
    by_rerank = sorted(
        heavy["columns"]["final"], key=lambda pid: -heavy["passages"][pid]["scores"]["rerank"]
    )
    assert [heavy["passages"][p]["scores"]["rerank"] for p in heavy["columns"]["final"]] == [
        heavy["passages"][p]["scores"]["rerank"] for p in by_rerank
    ]
    rrf = searches.search("docs", query, Settings(fusion=FusionSpec("rrf")), reuse=True)
    assert rrf["fusion"]["method"] == "rrf" and searcher.backend.retrievals == retrievals
    fresh = searches.search("docs", query)  # no reuse: retrieved again
    assert not fresh["reused"] and searcher.backend.retrievals == retrievals + 1


def test_a_what_if_of_a_search_not_kept_retrieves_it(searcher):
    searches = WorkbenchSearches(lambda index: searcher, kept=1)
    searches.search("docs", "vitamin")
    searches.search("docs", "statins")  # pushes "vitamin" out
    assert not searches.search("docs", "vitamin", reuse=True)["reused"]
    assert searches.search("docs", "vitamin", reuse=True)["reused"]


def test_settings_from_the_page_are_checked():
    parsed = Settings.from_dict(
        {"fusion": {"method": "z_score", "weights": [0.3, 0.7]}, "rerank_weight": 0.4}
    )
    assert parsed.fusion == FusionSpec("z_score", weights=(0.3, 0.7))
    assert parsed.rerank_weight == 0.4 and parsed.rerank_depth is None
    for bad in (
        {"rerank_weight": "high"},
        {"rerank_depth": 2.5},
        {"fusion": "rrf"},
        {"fusion": {"method": "best"}},
    ):
        with pytest.raises(ConfigError):
            Settings.from_dict(bad)


@pytest.mark.parametrize(
    ("query", "text", "analyzer", "marked"),
    [
        ("Bone fractures", "Fewer fractures; BONE rose.", "standard", ["fractures", "BONE"]),
        ("bone", "Osteoporotic bones", "standard", []),  # whole tokens only
        ("<script>", "a <script> tag", "standard", ["script"]),
        ("대장암 수술", "비만 수술은 대장암 위험을", "cjk", ["수술", "대장암"]),
    ],
)
def test_query_terms_are_marked_where_the_analyzer_finds_them(query, text, analyzer, marked):
    spans = term_marks(query, text, analyzer)
    assert [text[start:end] for start, end in spans] == marked


def test_two_configurations_compared_over_queries(searcher, searches):
    queries = ["bone fractures", "surgery for obesity", "statins cardiovascular", "bone fractures"]
    same = searches.compare("docs", queries, Settings(), Settings(), size=5)
    assert same["queries"] == 3  # each query once
    assert all(row["rbo"] == pytest.approx(1) and row["jaccard"] == 1 for row in same["rows"])
    retrievals = searcher.backend.retrievals
    apart = searches.compare(
        "docs",
        queries,
        Settings(rerank_weight=0.0),
        Settings(fusion=FusionSpec(weights=(0, 1))),
        size=5,
    )
    assert searcher.backend.retrievals == retrievals  # the legs of the searches above
    rbos = [row["rbo"] for row in apart["rows"]]
    assert rbos == sorted(rbos) and apart["mean_rbo"] == pytest.approx(sum(rbos) / 3)
    first = apart["rows"][0]
    assert len(first["first"]) == len(first["second"]) == 5
    assert "not reranked" in first["first_described"]
    with pytest.raises(ConfigError):
        searches.compare("docs", [], Settings(), Settings())
