"""The final order of a reranked pool: the bounded formula, early stopping that never changes
the first ``top_k``, and a fast route checked against the exact one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esrerank.fusion.final_order import Check, RerankFailure, final_order


def scorer(probabilities, calls=None):
    """Scores pool positions from a list, recording each batch asked for."""

    def score(positions):
        if calls is not None:
            calls.append(list(positions))
        return [probabilities[i] for i in positions]

    return score


def full_order(pool, fused, probabilities, weight, following=()):
    """The reference: every passage scored, sorted by final score, pool position breaking ties."""
    low, high = min(fused), max(fused)
    norm = [1.0 if high == low else (f - low) / (high - low) for f in fused]
    finals = [weight * p + (1 - weight) * n for p, n in zip(probabilities, norm, strict=True)]
    ranked = sorted(range(len(pool)), key=lambda i: (-finals[i], i))
    return [pool[i] for i in ranked] + list(following)


def test_the_final_score_is_the_weighted_probability_plus_the_normalized_fused_score():
    pool, fused = ["a", "b", "c"], [0.9, 0.6, 0.3]  # min_max: 1, 0.5, 0
    ranked = final_order(pool, fused, 0.25, 3, scorer([0.2, 0.4, 1.0]), 16)
    assert ranked.final == pytest.approx(
        {"a": 0.25 * 0.2 + 0.75 * 1, "b": 0.25 * 0.4 + 0.75 * 0.5, "c": 0.25 * 1.0 + 0.75 * 0}
    )
    assert ranked.order == ["a", "b", "c"]
    assert ranked.rerank == {"a": 0.2, "b": 0.4, "c": 1.0}


def test_weight_one_orders_by_the_cross_encoder_and_ties_keep_the_fused_order():
    pool, fused = ["a", "b", "c"], [0.9, 0.6, 0.3]
    assert final_order(pool, fused, 1.0, 3, scorer([0.1, 0.7, 0.4]), 2).order == ["b", "c", "a"]
    assert final_order(pool, fused, 1.0, 3, scorer([0.5, 0.5, 0.5]), 2).order == pool


def test_scoring_stops_once_nothing_unscored_can_reach_the_top():
    pool = [f"p{i}" for i in range(100)]
    fused = [1 - i / 100 for i in range(100)]
    calls = []
    ranked = final_order(pool, fused, 0.2, 5, scorer([0.5] * 100, calls), 8)
    # norm(fused[i]) = 1 - i / 99; the 5th best final is 0.2 * 0.5 + 0.8 * (1 - 4 / 99) and
    # passage i's bound, 0.2 + 0.8 * (1 - i / 99), beats it only while i - 4 < 12.375
    assert ranked.scored == 17
    assert [len(batch) for batch in calls] == [8, 8, 1]
    assert calls[0] == list(range(8))
    assert ranked.order == pool[:5]
    assert ranked.pool == 100


def test_the_page_comes_first_then_the_fused_order_past_the_pool():
    pool, fused = ["a", "b"], [0.9, 0.3]
    ranked = final_order(pool, fused, 1.0, 4, scorer([0.1, 0.9]), 16, following=["c", "d", "e"])
    assert ranked.order == ["b", "a", "c", "d"]


def test_a_failed_batch_raises_for_the_caller_to_report():
    def failing(positions):
        raise RerankFailure("cross-encoder failed: boom")

    with pytest.raises(RerankFailure, match="boom"):
        final_order(["a"], [1.0], 0.5, 1, failing, 16)


@settings(max_examples=400, deadline=None)
@given(
    data=st.data(),
    size=st.integers(min_value=1, max_value=60),
    weight=st.sampled_from([0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0]) | st.floats(0, 1),
    top_k=st.integers(min_value=1, max_value=20),
    batch=st.integers(min_value=1, max_value=20),
)
def test_early_stopping_gives_exactly_the_order_of_scoring_everything(
    data, size, weight, top_k, batch
):
    # coarse values make ties (in fused and in probabilities) common; saturated sigmoids too
    values = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1)
    probabilities = data.draw(st.lists(values, min_size=size, max_size=size))
    fused = sorted(data.draw(st.lists(values, min_size=size, max_size=size)), reverse=True)
    pool = [f"p{i}" for i in range(size)]
    following = ["after-1", "after-2"]
    ranked = final_order(pool, fused, weight, top_k, scorer(probabilities), batch, following)
    assert ranked.order == full_order(pool, fused, probabilities, weight, following)[:top_k]
    assert ranked.scored <= size


def test_a_fast_route_settles_only_what_its_error_leaves_in_doubt():
    pool, fused = ["a", "b", "c", "d"], [0.9, 0.9, 0.9, 0.0]
    exact = [0.50, 0.52, 0.90, 0.10]
    fast = [0.52, 0.50, 0.90, 0.10]  # a and b swapped within the bound, c and d clear
    calls = []
    check = Check(scorer(exact, calls), lambda p: 0.03)
    ranked = final_order(pool, fused, 1.0, 3, scorer(fast), 8, check=check)
    assert calls == [[0, 1]]
    assert ranked.order == ["c", "b", "a"]
    assert (ranked.scored, ranked.checked) == (4, 2)
    assert ranked.rerank["a"] == 0.50 and ranked.rerank["c"] == 0.90


@settings(max_examples=400, deadline=None)
@given(
    data=st.data(),
    size=st.integers(min_value=1, max_value=60),
    weight=st.sampled_from([0.1, 0.2, 0.5, 1.0]) | st.floats(0, 1),
    top_k=st.integers(min_value=1, max_value=20),
    batch=st.integers(min_value=1, max_value=20),
    error=st.sampled_from([0.0, 0.01, 0.05, 0.3]),
)
def test_a_checked_fast_route_gives_exactly_the_exact_routes_order(
    data, size, weight, top_k, batch, error
):
    values = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1)
    exact = data.draw(st.lists(values, min_size=size, max_size=size))
    offsets = data.draw(st.lists(st.floats(-error, error), min_size=size, max_size=size))
    fast = [min(1.0, max(0.0, p + o)) for p, o in zip(exact, offsets, strict=True)]
    fused = sorted(data.draw(st.lists(values, min_size=size, max_size=size)), reverse=True)
    pool = [f"p{i}" for i in range(size)]
    check = Check(scorer(exact), lambda p: error)
    ranked = final_order(pool, fused, weight, top_k, scorer(fast), batch, check=check)
    assert ranked.order == full_order(pool, fused, exact, weight)[:top_k]
    assert ranked.checked <= ranked.scored <= size
