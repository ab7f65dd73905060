"""Fusion of the BM25 and dense legs into one ranked list.

``fuse`` normalizes each leg over the hits it returned and combines them per id, or applies
reciprocal rank fusion. The missing-score rule: an id that one leg did not return gets 0.0 under
min_max (also when all of that leg's hits tie at 1.0, as OpenSearch's normalization-processor
does) and that leg's lowest normalized score under z_score and l2; under RRF it gets nothing from
that leg. A leg that
returned no hits at all is left out of the combination. Ties are broken by id, ascending, so the
order is deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import ConfigError
from ..types import LegHit
from .combine import COMBINATIONS, NEEDS_NON_NEGATIVE
from .normalize import NORMALIZATIONS
from .rrf import rrf

__all__ = [
    "COMBINATIONS",
    "METHODS",
    "FusionResult",
    "FusionSpec",
    "fuse",
    "fuse_hits",
    "leg_scores",
]

METHODS = (*NORMALIZATIONS, "rrf")


@dataclass(frozen=True)
class FusionSpec:
    """How to fuse: a normalization + combination, or ``rrf``; weights are per leg (bm25, dense)."""

    method: str = "min_max"
    combination: str = "arithmetic"
    weights: tuple[float, float] = (0.5, 0.5)
    rrf_k: float = 60.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(
                f"Unknown fusion '{self.method}'. Choose one of {', '.join(METHODS)}."
            )
        if self.combination not in COMBINATIONS:
            raise ConfigError(
                f"Unknown combination '{self.combination}'. "
                f"Choose one of {', '.join(COMBINATIONS)}."
            )
        if len(self.weights) != 2 or any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
            raise ConfigError(
                f"Fusion weights {self.weights} must be two non-negative numbers with a "
                "positive sum, e.g. `weights` 0.5,0.5.",
                settings=("weights",),
            )
        if self.method == "z_score" and self.combination in NEEDS_NON_NEGATIVE:
            raise ConfigError(
                f"The {self.combination} mean needs non-negative scores but z_score produces "
                "negative ones: set `combination` to arithmetic, or use another normalization.",
                settings=("combination",),
            )
        if self.rrf_k <= 0:
            raise ConfigError(f"RRF k must be positive, got {self.rrf_k}.")

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "combination": self.combination,
            "weights": list(self.weights),
            "rrf_k": self.rrf_k,
        }

    @classmethod
    def from_dict(cls, data: dict) -> FusionSpec:
        """A stored spec; a setting it lacks takes the default."""
        known = {name: data[name] for name in ("method", "combination") if name in data}
        if "weights" in data:
            known["weights"] = tuple(data["weights"])
        if "rrf_k" in data:
            known["rrf_k"] = float(data["rrf_k"])
        return cls(**known)

    def describe(self) -> str:
        w_bm25, w_dense = self.weights
        if self.method == "rrf":
            return f"rrf(k={self.rrf_k:g}, weights bm25={w_bm25:g} dense={w_dense:g})"
        weights = f"weights bm25={w_bm25:g} dense={w_dense:g}"
        return f"{self.method} + {self.combination} mean ({weights})"


@dataclass(frozen=True)
class FusionResult:
    """Fused ids in order, their fused scores, each leg's normalized scores, and the score
    each leg gives an id it did not return (its floor; none under rrf)."""

    order: tuple[str, ...]
    scores: dict[str, float]
    normalized: dict[str, dict[str, float]]  # leg name -> id -> normalized score
    floors: dict[str, float] = field(default_factory=dict)  # leg name -> missing-score floor


def leg_scores(hits: Sequence[LegHit]) -> dict[str, float]:
    """``{passage id: raw score}`` of one leg's hits."""
    return {hit.passage.passage_id: hit.score for hit in hits}


def fuse_hits(legs: Mapping[str, Sequence[LegHit]], spec: FusionSpec) -> FusionResult:
    """``fuse`` over each leg's hits (legs in weight order: bm25, dense)."""
    return fuse({name: leg_scores(hits) for name, hits in legs.items()}, spec)


def fuse(legs: Mapping[str, Mapping[str, float]], spec: FusionSpec) -> FusionResult:
    """Fuse ``{leg name: {id: raw score}}`` (legs in weight order: bm25, dense)."""
    names = list(legs)
    weights = dict(zip(names, spec.weights, strict=True))
    if spec.method == "rrf":
        rankings = [_ranks(legs[name]) for name in names]
        scores = rrf(rankings, [weights[name] for name in names], spec.rrf_k)
        normalized = {name: {} for name in names}
        floors = {}
    else:
        normalize = NORMALIZATIONS[spec.method]
        normalized = {name: normalize(legs[name]) for name in names}
        floors = {
            name: 0.0 if spec.method == "min_max" else min(normalized[name].values())
            for name in names
            if normalized[name]
        }
        scores = _combine(normalized, floors, weights, COMBINATIONS[spec.combination])
    order = tuple(sorted(scores, key=lambda key: (-scores[key], key)))
    return FusionResult(order=order, scores=scores, normalized=normalized, floors=floors)


def _combine(normalized, floor, weights, combination) -> dict[str, float]:
    present = [name for name in normalized if normalized[name]]
    if not present:
        return {}
    ids = {key for name in present for key in normalized[name]}
    leg_weights = [weights[name] for name in present]
    if sum(leg_weights) == 0:
        leg_weights = [1.0] * len(present)
    return {
        key: combination([normalized[name].get(key, floor[name]) for name in present], leg_weights)
        for key in ids
    }


def _ranks(scores: Mapping[str, float]) -> dict[str, int]:
    ordered = sorted(scores, key=lambda key: (-scores[key], key))
    return {key: rank for rank, key in enumerate(ordered, start=1)}
