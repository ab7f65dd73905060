"""Fusion: expected values are written as the formulas themselves."""

import math

import pytest

from esrerank.errors import ConfigError
from esrerank.fusion import FusionSpec, fuse
from esrerank.fusion.combine import arithmetic, geometric, harmonic
from esrerank.fusion.normalize import l2, min_max, z_score
from esrerank.fusion.rrf import rrf

BM25 = {"a": 12.0, "b": 8.0, "c": 2.0}
KNN = {"b": 0.9, "c": 0.8, "d": 0.5}


def test_min_max():
    assert min_max(BM25) == {"a": 1.0, "b": (8 - 2) / (12 - 2), "c": 0.0}


def test_min_max_of_equal_scores_is_one():
    assert min_max({"a": 3.0, "b": 3.0}) == {"a": 1.0, "b": 1.0}


def test_z_score():
    mean = (12 + 8 + 2) / 3
    std = math.sqrt(((12 - mean) ** 2 + (8 - mean) ** 2 + (2 - mean) ** 2) / 3)
    assert z_score(BM25) == pytest.approx({k: (v - mean) / std for k, v in BM25.items()})


def test_l2():
    norm = math.sqrt(12**2 + 8**2 + 2**2)
    assert l2(BM25) == pytest.approx({"a": 12 / norm, "b": 8 / norm, "c": 2 / norm})


def test_normalizers_leave_input_alone():
    scores = dict(BM25)
    min_max(scores), z_score(scores), l2(scores)
    assert scores == BM25


def test_combinations():
    assert arithmetic([0.2, 0.8], [1, 3]) == pytest.approx((1 * 0.2 + 3 * 0.8) / 4)
    assert geometric([0.2, 0.8], [1, 3]) == pytest.approx(
        math.exp((math.log(0.2) + 3 * math.log(0.8)) / 4)
    )
    assert harmonic([0.2, 0.8], [1, 3]) == pytest.approx(4 / (1 / 0.2 + 3 / 0.8))
    assert geometric([0.0, 0.8], [1, 1]) == 0.0
    assert harmonic([0.0, 0.8], [1, 1]) == 0.0


def test_rrf():
    fused = rrf([{"a": 1, "b": 2}, {"b": 1, "c": 3}], [1.0, 1.0], k=60)
    assert fused == pytest.approx({"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 63})


def test_fuse_min_max_arithmetic_missing_gets_leg_minimum():
    result = fuse({"bm25": BM25, "dense": KNN}, FusionSpec("min_max", "arithmetic", (0.5, 0.5)))
    knn_norm = {"b": 1.0, "c": (0.8 - 0.5) / 0.4, "d": 0.0}
    expected = {
        "a": 0.5 * 1.0 + 0.5 * 0.0,  # a is missing from knn: knn's minimum, 0
        "b": 0.5 * 0.6 + 0.5 * knn_norm["b"],
        "c": 0.5 * 0.0 + 0.5 * knn_norm["c"],
        "d": 0.5 * 0.0 + 0.5 * knn_norm["d"],  # d is missing from bm25: bm25's minimum, 0
    }
    assert result.scores == pytest.approx(expected)
    assert result.order == ("b", "a", "c", "d")


def test_fuse_min_max_missing_gets_zero_even_when_the_leg_has_one_hit():
    # One BM25 hit normalizes to 1.0; a passage BM25 never matched must not get 1.0 as well.
    result = fuse({"bm25": {"a": 10.0}, "dense": {"a": 0.2, "b": 0.9, "c": 0.1}}, FusionSpec())
    # knn min-max: a 0.125, b 1, c 0. Means: a (1 + .125) / 2, b (0 + 1) / 2, c 0.
    assert result.scores == pytest.approx({"a": 0.5625, "b": 0.5, "c": 0.0})


def test_fuse_z_score_missing_gets_leg_minimum_not_zero():
    result = fuse({"bm25": BM25, "dense": KNN}, FusionSpec("z_score", "arithmetic", (1.0, 1.0)))
    z_bm25, z_knn = z_score(BM25), z_score(KNN)
    assert result.scores["a"] == pytest.approx((z_bm25["a"] + min(z_knn.values())) / 2)
    assert result.scores["d"] == pytest.approx((min(z_bm25.values()) + z_knn["d"]) / 2)


def test_fuse_rrf_weighted():
    result = fuse({"bm25": BM25, "dense": KNN}, FusionSpec("rrf", weights=(2.0, 1.0), rrf_k=10))
    assert result.scores == pytest.approx(
        {"a": 2 / 11, "b": 2 / 12 + 1 / 11, "c": 2 / 13 + 1 / 12, "d": 1 / 13}
    )


def test_ties_break_by_id():
    result = fuse({"bm25": {"z": 1.0, "y": 1.0}, "dense": {}}, FusionSpec())
    assert result.order == ("y", "z")


def test_empty_leg_is_left_out():
    result = fuse({"bm25": {}, "dense": KNN}, FusionSpec("min_max", "geometric"))
    assert result.scores == pytest.approx(min_max(KNN))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "nope"},
        {"combination": "median"},
        {"weights": (0.0, 0.0)},
        {"weights": (-1.0, 2.0)},
        {"method": "z_score", "combination": "geometric"},
        {"method": "rrf", "rrf_k": 0},
    ],
)
def test_invalid_specs(kwargs):
    with pytest.raises(ConfigError):
        FusionSpec(**kwargs)


def test_each_legs_floor_is_the_score_fusion_gives_an_id_the_leg_missed():
    tied = fuse({"bm25": {"a": 2.0, "b": 2.0}, "dense": {"a": 0.5, "c": 0.9}}, FusionSpec())
    assert tied.normalized["bm25"] == {"a": 1.0, "b": 1.0}
    assert tied.floors == {"bm25": 0.0, "dense": 0.0}  # min_max: 0, even when a leg all ties
    assert tied.scores["c"] == pytest.approx(0.5 * 0.0 + 0.5 * 1.0)
    z = fuse({"bm25": {"a": 3.0, "b": 1.0}, "dense": {"c": 0.2}}, FusionSpec("z_score"))
    assert z.floors == {"bm25": -1.0, "dense": 0.0}
    assert fuse({"bm25": {"a": 1.0}, "dense": {}}, FusionSpec("rrf")).floors == {}
