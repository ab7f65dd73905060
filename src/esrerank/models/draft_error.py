"""How far a cross-encoder's bf16 probabilities may lie from its fp32 ones: measured once per
model on the bundled calibration pairs and kept beside the exported bf16 copy.

bf16 keeps 8 bits of mantissa, so a logit's error grows with its size: the bound is
``c · (1 + |logit|)`` on the logit, with ``c`` the largest such ratio the calibration pairs show
times ``SAFETY`` (never below ``FLOOR``), carried to the probability through the sigmoid's
steepest slope within it. A few hundred pairs miss the tail: for the bundled reranker the 192
calibration pairs show 0.016 and the fused top 100s of 300 SciFact and 300 MS MARCO queries
(60,000 pairs) 0.093, hence the wide factor; its ``c`` is then 0.128.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .export import calibration_pairs

log = logging.getLogger(__name__)

SAFETY = 8.0
FLOOR = 0.1
BATCH = 8
RECORD = "error-vs-fp32.json"

Predict = Callable[[list[tuple[str, str]]], np.ndarray]  # pairs -> probabilities


def probability_error(
    name: str, draft: Predict, exact: Predict, folder: Path
) -> Callable[[float], float]:
    """``p -> bound on |bf16 − fp32|`` for a bf16 probability ``p`` of model ``name``."""
    record = folder / RECORD
    if record.is_file():
        ratio = json.loads(record.read_text())["largest_ratio"]
    else:
        log.warning("measuring how far %s's bf16 scores lie from fp32 (once, seconds)", name)
        pairs = calibration_pairs()
        ratio = _largest_ratio(pairs, draft, exact)
        record.write_text(json.dumps({"largest_ratio": ratio, "pairs": len(pairs)}))
    return bound_from(max(SAFETY * ratio, FLOOR))


def bound_from(c: float) -> Callable[[float], float]:
    """The probability bound for a logit error of at most ``c · (1 + |logit|)``."""

    if not 0 <= c < 1:
        raise ValueError(f"the relative logit error must be in [0, 1), got {c}")

    def error(probability: float) -> float:
        x = abs(_logit(probability))
        # |draft − exact| ≤ c · (1 + |exact|) holds within this radius of the draft's logit
        radius = c * (1 + x) / (1 - c)
        nearest = max(0.0, x - radius)  # the sigmoid is steepest nearest 0
        slope = 1 / (2 + math.exp(nearest) + math.exp(-nearest))
        return radius * slope

    return error


def _largest_ratio(pairs: Sequence[tuple[str, str]], draft: Predict, exact: Predict) -> float:
    largest = 0.0
    for begin in range(0, len(pairs), BATCH):
        batch = list(pairs[begin : begin + BATCH])
        for d, e in zip(draft(batch), exact(batch), strict=True):
            x, y = _logit(float(d)), _logit(float(e))
            largest = max(largest, abs(x - y) / (1 + abs(y)))
    return largest


def _logit(probability: float) -> float:
    p = min(max(probability, 1e-15), 1 - 1e-15)
    return math.log(p / (1 - p))
