"""Per-leg score normalizations: each maps a leg's raw scores onto a common scale.

Each function takes ``{id: raw score}`` over the hits one leg returned and returns a new dict;
the input is never modified.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


def min_max(scores: Mapping[str, float]) -> dict[str, float]:
    """``(s - min) / (max - min)``; every score becomes 1.0 when all are equal."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high == low:
        return {key: 1.0 for key in scores}
    return {key: (value - low) / (high - low) for key, value in scores.items()}


def z_score(scores: Mapping[str, float]) -> dict[str, float]:
    """``(s - mean) / std`` with the population standard deviation; 0.0 when std is 0."""
    if not scores:
        return {}
    mean = sum(scores.values()) / len(scores)
    std = math.sqrt(sum((value - mean) ** 2 for value in scores.values()) / len(scores))
    if std == 0:
        return {key: 0.0 for key in scores}
    return {key: (value - mean) / std for key, value in scores.items()}


def l2(scores: Mapping[str, float]) -> dict[str, float]:
    """``s / sqrt(sum(s^2))``; 0.0 when every score is 0."""
    norm = math.sqrt(sum(value * value for value in scores.values()))
    if norm == 0:
        return {key: 0.0 for key in scores}
    return {key: value / norm for key, value in scores.items()}


NORMALIZATIONS = {"min_max": min_max, "z_score": z_score, "l2": l2}
