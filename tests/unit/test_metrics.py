"""trec_eval's measures, through esrerank.evaluation.measures, against figures worked out by
hand."""

import math

import pytest

from esrerank.evaluation.measures import doc_ranking, evaluate, evaluate_per_query

QRELS = {"q1": {"d1": 1, "d2": 1, "d3": 0}, "q2": {"d9": 2}, "q3": {"d5": 1}, "q4": {"d7": 0}}
RUN = {"q1": ["d3", "d1", "d4"], "q2": ["d5", "d6", "d7", "d8", "d0", "d9"], "q3": []}


def test_per_query_by_hand():
    figures = evaluate_per_query(QRELS, RUN, cutoffs=(1, 5))
    assert set(figures) == {"q1", "q2", "q3"}  # q4 judges nothing relevant
    q1 = figures["q1"]
    # d1 (relevant) at rank 2 of 3, d2 never retrieved.
    assert q1["accuracy@1"] == 0.0 and q1["accuracy@5"] == 1.0
    assert q1["recall@5"] == 0.5
    assert q1["mrr@10"] == 0.5
    assert q1["ndcg@10"] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    q2 = figures["q2"]
    # d9 (grade 2) at rank 6: outside the top 5, inside the top 10.
    assert q2["accuracy@5"] == 0.0 and q2["recall@5"] == 0.0
    assert q2["mrr@10"] == pytest.approx(1 / 6)
    assert q2["ndcg@10"] == pytest.approx(1 / math.log2(7))
    assert all(value == 0.0 for value in figures["q3"].values())


def test_mean_counts_unanswered_queries_as_zero():
    mean = evaluate(QRELS, RUN, cutoffs=(5,))
    assert mean["accuracy@5"] == pytest.approx(1 / 3)
    assert mean["mrr@10"] == pytest.approx((0.5 + 1 / 6) / 3)


def test_mrr_is_cut_at_ten():
    run = {"q2": [f"x{i}" for i in range(10)] + ["d9"]}
    assert evaluate_per_query({"q2": {"d9": 1}}, run)["q2"]["mrr@10"] == 0.0


def test_doc_ranking_keeps_first_passage():
    assert doc_ranking(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]
