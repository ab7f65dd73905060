"""Filter clauses as the embedded store evaluates them: as the engines treat keyword, numeric
and date fields."""

from __future__ import annotations

import pytest

from esrerank.backends.filters import check_embedded, filter_clauses, matches
from esrerank.errors import InputError

DOCUMENT = {
    "doc_id": "d1",
    "category": "news",
    "year": 2021,
    "score": 0.5,
    "published": "2021-06-01",
    "tags": ["a", "b"],
    "author": {"name": "Kim", "id": 7},
    "flag": True,
}


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ({"term": {"category": "news"}}, True),
        ({"term": {"category": "News"}}, False),  # keywords are not analyzed
        ({"term": {"category": {"value": "news"}}}, True),
        ({"term": {"year": "2021"}}, True),  # a numeric field parses the value
        ({"term": {"year": 2021.0}}, True),
        ({"term": {"tags": "b"}}, True),  # a list matches on any element
        ({"term": {"author.name": "Kim"}}, True),
        ({"term": {"flag": True}}, True),
        ({"term": {"missing": "x"}}, False),
        ({"terms": {"category": ["sport", "news"]}}, True),
        ({"terms": {"tags": ["c", "d"]}}, False),
        ({"range": {"year": {"gte": 2021, "lt": 2022}}}, True),
        ({"range": {"year": {"gt": 2021}}}, False),
        ({"range": {"score": {"lte": "0.5"}}}, True),
        ({"range": {"published": {"gte": "2021-01-01", "lte": "2021-12-31"}}}, True),
        ({"range": {"published": {"lt": "2021-06-01"}}}, False),
        ({"exists": {"field": "author.id"}}, True),
        ({"exists": {"field": "nothing"}}, False),
        ({"match_all": {}}, True),
        ({"bool": {"must_not": [{"term": {"category": "news"}}]}}, False),
        ({"bool": {"should": [{"term": {"year": 1}}, {"term": {"tags": "a"}}]}}, True),
        ({"bool": {"should": [{"term": {"year": 1}}]}}, False),  # no must: one should needed
        (
            {"bool": {"filter": {"term": {"year": 2021}}, "should": [{"term": {"year": 1}}]}},
            True,  # beside a filter, should clauses are optional
        ),
        (
            {
                "bool": {
                    "should": [{"term": {"tags": "a"}}, {"term": {"tags": "b"}}],
                    "minimum_should_match": 2,
                }
            },
            True,
        ),
    ],
)
def test_clauses_match_as_the_engines_do(clause, expected):
    assert matches(filter_clauses(clause), DOCUMENT) is expected


def test_a_list_of_clauses_must_all_match():
    assert matches(filter_clauses([{"term": {"year": 2021}}, {"term": {"tags": "a"}}]), DOCUMENT)
    assert not matches(
        filter_clauses([{"term": {"year": 2021}}, {"term": {"tags": "z"}}]), DOCUMENT
    )
    assert filter_clauses(None) == ()


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("category:news", "got str"),
        ([{"term": {"a": 1}, "range": {"b": {}}}], "one query type"),
        ([42], "one query type"),
    ],
)
def test_malformed_filters_are_refused_with_what_a_clause_is(bad, says):
    with pytest.raises(InputError, match=says):
        filter_clauses(bad)


def test_the_embedded_store_names_the_clauses_it_takes():
    with pytest.raises(InputError, match="'match' is not supported by the embedded store"):
        check_embedded(filter_clauses({"bool": {"filter": [{"match": {"text": "x"}}]}}))
    with pytest.raises(InputError, match="needs a field and a value"):
        check_embedded(filter_clauses({"term": {}}))
    check_embedded(filter_clauses({"bool": {"must_not": {"terms": {"a": [1]}}}}))
