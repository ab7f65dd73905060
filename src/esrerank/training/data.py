"""Training data: relevance groups (a query with positive and negative passages) and scored
sentence pairs, read from JSONL and CSV files with errors that name the line."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..errors import InputError

T = TypeVar("T")


@dataclass(frozen=True)
class Group:
    """A query, passages relevant to it, and passages that are not (given or mined)."""

    query: str
    positives: tuple[str, ...]
    negatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScoredPair:
    """Two texts and their similarity scaled to 0..1."""

    first: str
    second: str
    score: float


@dataclass(frozen=True)
class Candidate:
    """A retrieved passage of a dev query, and whether its document is relevant."""

    text: str
    relevant: bool


@dataclass(frozen=True)
class DevQuery:
    """A held-out query with its retrieval candidates, best first, to rank during training."""

    query: str
    candidates: tuple[Candidate, ...]


def read_relevance_file(path: str | Path) -> list[Group]:
    """JSONL of pairs ``{"query", "passage", "label"}`` (label 1 relevant, 0 not) or triples
    ``{"query", "positive", "negative"}`` (``"negatives"``: a list), grouped by query."""
    path = _existing(path, "Training file")
    positives: dict[str, list[str]] = {}
    negatives: dict[str, list[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            query = _text(obj, "query")
            if "label" in obj:
                side = positives if float(obj["label"]) > 0 else negatives
                side.setdefault(query, []).append(_text(obj, "passage"))
            else:
                positives.setdefault(query, []).append(_text(obj, "positive"))
                listed = obj["negatives"] if "negatives" in obj else [obj["negative"]]
                negatives.setdefault(query, []).extend(str(n) for n in listed)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, RecursionError) as exc:
            raise InputError(
                f"{path}:{number}: expected a JSON object with query, passage and a numeric "
                f"label, or query, positive and negative ({type(exc).__name__}: {exc})."
            ) from exc
    groups = [
        Group(query, tuple(dict.fromkeys(found)), tuple(dict.fromkeys(negatives.get(query, []))))
        for query, found in positives.items()
    ]
    if not groups:
        raise InputError(f"{path}: no relevant (label 1) passages to train on.")
    return groups


def read_scored_pairs(path: str | Path, scale: float = 5.0) -> list[ScoredPair]:
    """CSV rows ``sentence1,sentence2,score`` (a header row is optional), scores divided by
    ``scale`` so they fall in 0..1."""
    path = _existing(path, "Scored pairs file")
    pairs: list[ScoredPair] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        try:
            for row in reader:
                if not row or (reader.line_num == 1 and _is_header(row)):
                    continue
                pairs.append(_scored_pair(row, scale, f"{path}:{reader.line_num}"))
        except csv.Error as exc:
            raise InputError(f"{path}:{reader.line_num}: unreadable CSV row ({exc}).") from exc
    if not pairs:
        raise InputError(f"{path}: no sentence pairs.")
    return pairs


def split_off(items: Sequence[T], fraction: float, seed: int) -> tuple[list[T], list[T]]:
    """A seeded random split into (train, held out); at least one item stays on each side."""
    if len(items) < 2:
        raise InputError(
            f"Only {len(items)} training example(s): need at least 2 to hold some out for dev."
        )
    order = list(items)
    random.Random(seed).shuffle(order)
    held = min(max(1, round(len(order) * fraction)), len(order) - 1)
    return order[held:], order[:held]


def _scored_pair(row: list[str], scale: float, where: str) -> ScoredPair:
    if len(row) != 3:
        raise InputError(
            f"{where}: expected 3 columns sentence1,sentence2,score, got {len(row)}. Quote "
            "fields that contain commas."
        )
    try:
        score = float(row[2])
    except ValueError:
        raise InputError(f"{where}: score '{row[2]}' is not a number.") from None
    if not 0 <= score <= scale:
        raise InputError(
            f"{where}: score {score:g} is outside 0..{scale:g} (see `score_scale`).",
            settings=("score_scale",),
        )
    if not row[0].strip() or not row[1].strip():
        raise InputError(f"{where}: empty sentence.")
    return ScoredPair(row[0], row[1], score / scale)


def _is_header(row: list[str]) -> bool:
    try:
        float(row[-1])
    except ValueError:
        return True
    return False


def _text(obj: dict, key: str) -> str:
    value = obj[key]
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"'{key}' must be a non-empty string")
    return value


def _existing(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} '{path}' not found. Check the path.")
    return path
