"""Which ``_search`` bodies serve answers itself, what it reads from them, and ``_source``
filtering; pure logic (the server is tested over HTTP in tests/integration/test_serve*.py)."""

from __future__ import annotations

import pytest

from esrerank.serve.responses import RequestError
from esrerank.serve.search_answer import selected
from esrerank.serve.search_dsl import MAX_QUERY, hybrid_search, may_be_hybrid

FIELDS = frozenset({"title", "text", "content"})
TERM = {"term": {"category": "news"}}


@pytest.mark.parametrize(
    ("query", "text", "filters"),
    [
        ({"match": {"text": "heart attack"}}, "heart attack", ()),
        ({"match": {"content": {"query": "heart", "operator": "and"}}}, "heart", ()),
        ({"multi_match": {"query": "heart", "fields": ["title^2", "text"]}}, "heart", ()),
        ({"query_string": {"query": "heart AND lung"}}, "heart AND lung", ()),
        ({"simple_query_string": {"query": "heart", "fields": ["*"]}}, "heart", ()),
        ({"bool": {"must": {"match": {"text": "heart"}}, "filter": TERM}}, "heart", (TERM,)),
        ({"bool": {"should": [{"match": {"text": "heart"}}], "filter": [TERM]}}, "heart", (TERM,)),
        (
            {"bool": {"must": [{"match": {"text": "heart"}}, TERM], "must_not": [TERM]}},
            "heart",
            (TERM, {"bool": {"must_not": [TERM]}}),
        ),
    ],
)
def test_full_text_queries_are_answered(query, text, filters):
    search = hybrid_search({"query": query, "size": 3, "from": 6}, FIELDS)
    assert (search.text, search.filters, search.start, search.size) == (text, filters, 6, 3)


@pytest.mark.parametrize(
    "body",
    [
        {"query": {"match": {"category": "news"}}},  # not the indexed text
        {"query": {"term": {"text": "heart"}}},
        {"query": {"match_all": {}}},
        {},
        {"query": {"match": {"text": "heart"}}, "aggs": {"c": {"terms": {"field": "x"}}}},
        {"query": {"match": {"text": "heart"}}, "sort": ["_doc"]},
        {"query": {"match": {"text": "heart"}}, "highlight": {"fields": {"text": {}}}},
        {"query": {"bool": {"must": [{"match": {"text": "a"}}, {"match": {"title": "b"}}]}}},
        {"query": {"bool": {"must": {"match": {"text": "a"}}, "should": [TERM]}}},
        {"query": {"bool": {"must": {"match": {"text": "a"}}, "minimum_should_match": 1}}},
        {"query": {"multi_match": {"query": "a", "fields": ["text", "category"]}}},
        [],
        "text",
    ],
)
def test_anything_else_is_the_engines(body):
    assert hybrid_search(body, FIELDS) is None


@pytest.mark.parametrize(
    ("body", "shaped"),
    [
        ({"query": {"match": {"category": "news"}}}, True),  # another field: the index decides
        ({"query": {"bool": {"must": {"match": {"x": "a"}}, "filter": TERM}}}, True),
        ({"query": {"match": {"text": "a"}}, "aggs": {}}, False),
        ({"query": {"match_all": {}}}, False),
        ({"size": 0}, False),
        ([], False),
    ],
)
def test_the_shape_alone_sends_a_search_to_the_engine(body, shaped):
    assert may_be_hybrid(body) is shaped


@pytest.mark.parametrize(
    ("paging", "reason"),
    [
        ({"size": -1}, "[size] must be a non-negative integer"),
        ({"from": "2"}, "[from] must be a non-negative integer"),
        ({"size": True}, "[size] must be a non-negative integer"),
        ({"from": 990, "size": 20}, "Result window is too large"),
        ({"_source": 3}, "[_source] must be true, false, a pattern"),
        ({"_source": ["a", 1]}, "[_source] must be"),
        ({"_source": {"includes": "a", "other": []}}, "[_source] must be"),
    ],
)
def test_paging_out_of_range_is_a_400(paging, reason):
    with pytest.raises(
        RequestError, match=reason.replace("[", r"\[").replace("]", r"\]")
    ) as caught:
        hybrid_search({"query": {"match": {"text": "a"}}, **paging}, FIELDS)
    assert caught.value.status == 400


def test_a_query_text_over_the_cap_is_a_400():
    assert hybrid_search({"query": {"match": {"text": "a" * MAX_QUERY}}}, FIELDS)
    with pytest.raises(RequestError, match="4097 characters long") as caught:
        hybrid_search({"query": {"match": {"text": "a" * (MAX_QUERY + 1)}}}, FIELDS)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("spec", "kept"),
    [
        (True, {"title", "text", "year"}),
        (False, None),
        ("t*", {"title", "text"}),
        (["year"], {"year"}),
        ({"excludes": ["text"]}, {"title", "year"}),
        ({"includes": ["t*"], "excludes": "title"}, {"text"}),
    ],
)
def test_source_filtering(spec, kept):
    source = {"title": "T", "text": "body", "year": 2020}
    result = selected(source, spec)
    assert (None if result is None else set(result)) == kept
