"""The final score of a reranked passage: the cross-encoder's score blended with the fused one."""

from __future__ import annotations

import pytest

from esrerank.rerank import interpolated, reranked_order


def test_the_blend_is_the_weighted_sum_of_min_max_scores_over_the_pool():
    fused = [0.9, 0.6, 0.3]  # min_max: 1, 0.5, 0
    rerank = [2.0, 4.0, 6.0]  # min_max: 0, 0.5, 1
    assert interpolated(fused, rerank, 0.25) == pytest.approx(
        [0.25 * 0 + 0.75 * 1, 0.25 * 0.5 + 0.75 * 0.5, 0.25 * 1 + 0.75 * 0]
    )


def test_weight_one_orders_by_the_cross_encoder_and_weight_zero_by_fusion():
    pool = ["a", "b", "c"]
    fused, rerank = [0.9, 0.6, 0.3], [0.1, 0.7, 0.4]
    assert reranked_order(pool, interpolated(fused, rerank, 1.0)) == ["b", "c", "a"]
    assert reranked_order(pool, interpolated(fused, rerank, 0.0)) == ["a", "b", "c"]


def test_a_pool_of_ties_keeps_the_fused_order():
    pool = ["a", "b", "c"]
    scores = interpolated([0.9, 0.6, 0.3], [0.5, 0.5, 0.5], 1.0)
    assert reranked_order(pool, scores) == pool
