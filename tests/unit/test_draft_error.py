"""The bound on how far a bf16 probability may lie from fp32's, given a relative logit error."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esrerank.models.draft_error import bound_from


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@settings(max_examples=500, deadline=None)
@given(
    exact=st.floats(-30, 30),
    share=st.floats(-1, 1),
    c=st.sampled_from([0.0, 0.01, 0.1, 0.128, 0.3]),
)
def test_a_logit_error_within_the_ratio_keeps_the_probability_within_the_bound(exact, share, c):
    draft = exact + share * c * (1 + abs(exact))
    assert abs(sigmoid(draft) - sigmoid(exact)) <= bound_from(c)(sigmoid(draft)) + 1e-12


def test_the_bound_is_narrow_when_the_model_is_sure_and_symmetric():
    error = bound_from(0.1)
    assert error(0.5) == pytest.approx(0.1 / 0.9 * 0.25)
    assert error(0.9999) < error(0.5) < error(0.9)
    assert error(0.001) == pytest.approx(error(0.999))


def test_an_error_as_large_as_the_logit_is_refused():
    with pytest.raises(ValueError, match="relative logit error"):
        bound_from(1.0)
