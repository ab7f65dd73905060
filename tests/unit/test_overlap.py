"""Jaccard and rank-biased overlap on rankings whose values are known."""

from __future__ import annotations

import pytest

from esrerank.workbench.overlap import jaccard, rank_biased_overlap


def test_identical_and_disjoint_rankings():
    ranked = list("abcdefghij")
    assert jaccard(ranked, ranked) == 1 and rank_biased_overlap(ranked, ranked) == pytest.approx(1)
    assert jaccard(ranked, list("klmnopqrst")) == 0
    assert rank_biased_overlap(ranked, list("klmnopqrst")) == 0


def test_agreement_at_the_top_counts_more():
    ranked = list("abcdefghij")
    swapped_top = list("bacdefghij")
    swapped_bottom = list("abcdefghji")
    assert jaccard(swapped_top, ranked) == jaccard(swapped_bottom, ranked) == 1
    assert (
        rank_biased_overlap(ranked, swapped_top) < rank_biased_overlap(ranked, swapped_bottom) < 1
    )


def test_a_value_worked_by_hand():
    # depth 1: 0/1, depth 2: 2/2 (a and b both seen), p = 0.9
    # 2/2 * 0.81 + (0.1 / 0.9) * (0 * 0.9 + 1 * 0.81) = 0.81 + 0.09 = 0.9
    assert rank_biased_overlap(["a", "b"], ["b", "a"]) == pytest.approx(0.9)
    # one of two shared: 1/3 of the union
    assert jaccard(["a", "b"], ["a", "c"]) == pytest.approx(1 / 3)
