"""Which application searches serve answers, what it reads from them, and the pure parts of the
answer it rebuilds: ``filter_path`` and the reordered engine answer."""

from __future__ import annotations

import pytest

from esrerank.serve.filter_path import apply_filter_path
from esrerank.serve.hybrid import whole_index_scored
from esrerank.serve.relevance import relevance_search
from esrerank.serve.reordered import reordered_answer

TEXT = frozenset({"title", "text", "content"})


def read(body, params=None):
    return relevance_search(body, params or {}, TEXT)


def test_every_full_text_clause_wherever_it_sits_gives_the_dense_text():
    body = {
        "query": {
            "function_score": {
                "query": {
                    "bool": {
                        "must": [
                            {
                                "dis_max": {
                                    "queries": [
                                        {"match": {"title": {"query": "cancer", "boost": 3}}},
                                        {"match_phrase_prefix": {"text": "cancer"}},
                                    ]
                                }
                            }
                        ],
                        "should": [
                            {"multi_match": {"query": "surgery", "fields": ["title^2", "text"]}},
                            {"boosting": {"positive": {"match_bool_prefix": {"text": "onc"}}}},
                        ],
                    }
                }
            }
        }
    }
    found = read(body)
    assert found is not None and found.text == "cancer surgery onc"
    assert found.filters == ()


def test_filters_are_the_clauses_every_hit_matches():
    body = {
        "query": {
            "bool": {
                "must": [{"match": {"text": "x"}}, {"term": {"category": "a"}}],
                "should": [{"term": {"tags": "b"}}],
                "filter": {"range": {"year": {"gte": 2000}}},
                "must_not": [{"term": {"category": "c"}}],
            }
        },
        "post_filter": {"term": {"tags": "d"}},
    }
    found = read(body)
    assert found.filters == (
        {"term": {"category": "a"}},
        {"range": {"year": {"gte": 2000}}},
        {"bool": {"must_not": [{"term": {"category": "c"}}]}},
        {"term": {"tags": "d"}},
    )


def test_query_string_syntax_stays_out_of_the_dense_text():
    found = read(
        {"query": {"query_string": {"query": 'title:(cancer AND "gene therapy")^2 mice~'}}}
    )
    assert found.text == "cancer gene therapy mice"
    found = read({"query": {"simple_query_string": {"query": "+vitamin -d* | rickets"}}})
    assert found.text == "vitamin d rickets"


@pytest.mark.parametrize(
    "body",
    [
        {"query": {"match": {"text": "x"}}, "sort": [{"year": "desc"}]},
        {"query": {"match": {"text": "x"}}, "search_after": [1]},
        {"query": {"match": {"text": "x"}}, "size": 0},
        {
            "query": {"match": {"text": "x"}},
            "collapse": {"field": "d", "inner_hits": {"name": "i"}},
        },
        {"query": {"match": {"text": "x"}}, "from": 995, "size": 10},
        {"query": {"match": {"text": "x"}}, "knn": {"field": "v", "query_vector": [1]}},
        {"query": {"term": {"category": "a"}}},
        {"query": {"match_all": {}}},
        {"query": {"match": {"category": "biology"}}},
        {"query": {"bool": {"filter": [{"match": {"text": "x"}}]}}},
        {"query": {"bool": {"must": [{"match": {"text": "x"}}, {"pinned": {"ids": ["1"]}}]}}},
        {"query": {"match": {"text": "x"}}, "size": "ten"},
        {"query": {"match": {"text": "x"}}, "from": -1},
        {"retriever": {"standard": {"query": {"match": {"text": "x"}}}}},
        [],
    ],
)
def test_searches_ordered_otherwise_are_the_engines(body):
    assert read(body) is None


@pytest.mark.parametrize("params", [{"q": "x"}, {"scroll": "1m"}, {"sort": "year:desc"}])
def test_url_parameters_can_make_a_search_the_engines(params):
    assert read({"query": {"match": {"text": "x"}}}, params) is None


def test_a_sort_on_the_score_alone_is_relevance():
    for sort in ["_score", ["_score"], [{"_score": "desc"}], [{"_score": {"order": "desc"}}]]:
        assert read({"query": {"match": {"text": "x"}}, "sort": sort}) is not None
    assert read({"query": {"match": {"text": "x"}}, "sort": ["_score", "year"]}) is None


def test_the_page_comes_from_the_url_over_the_body():
    found = read({"query": {"match": {"text": "x"}}, "from": 5, "size": 5}, {"size": "20"})
    assert (found.start, found.size, found.window) == (5, 20, 100)
    assert read({"query": {"match": {"text": "x"}}, "from": 150, "size": 50}).window == 200


def test_fields_the_index_embeds_are_matched_by_name_boost_subfield_and_pattern():
    for field in ["title^3", "text.english", "ti*", "*"]:
        assert read({"query": {"multi_match": {"query": "x", "fields": [field]}}}) is not None
    assert read({"query": {"multi_match": {"query": "x", "fields": ["author"]}}}) is None
    assert read({"query": {"query_string": {"query": "x"}}}) is not None  # default fields


def test_filter_path_keeps_and_drops_as_the_engines_do():
    answer = {
        "took": 3,
        "hits": {
            "total": {"value": 2},
            "hits": [
                {"_id": "a", "_source": {"title": "t", "text": "x"}},
                {"_id": "b", "_source": {"title": "u"}},
            ],
        },
        "aggregations": {"c": {"buckets": [{"key": "k", "doc_count": 1}]}},
    }
    assert apply_filter_path(answer, "hits.hits._id,took") == {
        "took": 3,
        "hits": {"hits": [{"_id": "a"}, {"_id": "b"}]},
    }
    assert apply_filter_path(answer, "hits.hits._source.t*") == {
        "hits": {"hits": [{"_source": {"title": "t", "text": "x"}}, {"_source": {"title": "u"}}]}
    }
    assert apply_filter_path(answer, "**.doc_count") == {
        "aggregations": {"c": {"buckets": [{"doc_count": 1}]}}
    }
    dropped = apply_filter_path(answer, "-hits.hits._source,-aggregations")
    assert dropped == {
        "took": 3,
        "hits": {"total": {"value": 2}, "hits": [{"_id": "a"}, {"_id": "b"}]},
    }
    assert apply_filter_path(answer, "nothing.here") == {}


def test_the_engines_answer_keeps_its_keys_with_hits_reordered_and_rescored():
    answer = {
        "took": 1,
        "_shards": {"total": 1},
        "hits": {
            "total": {"value": 7, "relation": "eq"},
            "max_score": 3.0,
            "hits": [{"_index": "i", "_id": "a", "_score": 3.0, "sort": [3.0]}],
        },
        "aggregations": {"x": 1},
    }
    page = [
        {"_index": "i", "_id": "d", "_score": None, "highlight": {"text": ["<em>x</em>"]}},
        {"_index": "i", "_id": "a", "_score": 3.0, "sort": [3.0]},
    ]
    rebuilt = reordered_answer(answer, page, {"i/d": 0.9, "i/a": 0.5}, 0.9, 2)
    assert rebuilt["aggregations"] == {"x": 1} and rebuilt["_shards"] == {"total": 1}
    assert rebuilt["hits"]["total"] == {"value": 9, "relation": "eq"}
    assert rebuilt["hits"]["max_score"] == 0.9
    assert [(h["_id"], h["_score"]) for h in rebuilt["hits"]["hits"]] == [("d", 0.9), ("a", 0.5)]
    assert rebuilt["hits"]["hits"][1]["sort"] == [0.5]
    assert answer["hits"]["hits"][0]["_score"] == 3.0  # the engine's answer is left as it was
    as_int = reordered_answer({"hits": {"total": 7, "hits": []}}, [], {}, None, 3)
    assert as_int["hits"]["total"] == 10


def test_hits_without_ids_are_the_engines():
    assert read({"query": {"match": {"text": "x"}}, "stored_fields": "_none_"}) is None
    assert read({"query": {"match": {"text": "x"}}}, {"stored_fields": "_none_"}) is None


def test_collapse_on_a_field_is_applied_to_the_final_order():
    assert read({"query": {"match": {"text": "x"}}, "collapse": {"field": "doc_id"}}).collapse == (
        "doc_id"
    )
    assert read({"query": {"match": {"text": "x"}}}).collapse is None


@pytest.mark.parametrize(
    ("params", "sent"),
    [
        ("", "?search_type=dfs_query_then_fetch"),
        ("?routing=a", "?routing=a&search_type=dfs_query_then_fetch"),
        ("?search_type=query_then_fetch", "?search_type=query_then_fetch"),
        ("?pretty&search%5Ftype=query_then_fetch", "?pretty&search%5Ftype=query_then_fetch"),
    ],
)
def test_the_lexical_leg_scores_with_the_whole_index_unless_the_application_chose(params, sent):
    assert whole_index_scored(params) == sent
