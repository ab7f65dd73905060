"""Cross-encoder scores kept in memory, bounded, so a long-lived process does not run the same
pair twice: page 2 of a search reranks page 1's pool again, a facet click repeats the query over
part of the same pool, and popular queries come back all day.

A score is a pure function of the model, its route, the query and the passage, so a remembered
score is the score the model would give again: answers do not change, only their cost.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from ..digests import texts_digest

# Pairs ``esrerank serve`` keeps by default: about 150 bytes each (a 16-byte key and a float in
# an ordered dict), so 3 MB; 20,000 pairs hold the scored pools of a few hundred recent searches.
DEFAULT_PAIRS = 20_000


class ScoreMemory:
    """The scores of the ``limit`` pairs used last, per route (``exact``, ``draft``); a limit
    of 0 keeps nothing. Safe to share between threads."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError(f"a score memory holds 0 or more pairs, got {limit}")
        self.limit = limit
        self.recalled = 0  # scores answered from memory since the start
        self._scores: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def recall(self, routes: Sequence[str], query: str, passages: Sequence[str]) -> list:
        """Per passage, its score on the first of ``routes`` that has one, or None."""
        found: list[float | None] = []
        with self._lock:
            for passage in passages:
                score = None
                for route in routes:
                    key = _key(route, query, passage)
                    score = self._scores.get(key)
                    if score is not None:
                        self._scores.move_to_end(key)
                        self.recalled += 1
                        break
                found.append(score)
        return found

    def keep(self, route: str, query: str, passages: Sequence[str], scores) -> None:
        """Remember ``scores`` (aligned with ``passages``) on ``route``, forgetting the pairs
        used longest ago beyond the limit."""
        if not self.limit:
            return
        with self._lock:
            for passage, score in zip(passages, scores, strict=True):
                key = _key(route, query, passage)
                self._scores[key] = float(score)
                self._scores.move_to_end(key)
            while len(self._scores) > self.limit:
                self._scores.popitem(last=False)

    def __len__(self) -> int:
        return len(self._scores)


def _key(route: str, query: str, passage: str) -> bytes:
    """A digest of the three texts; a digest, not the texts, as passages run to kilobytes."""
    return texts_digest(route, query, passage)
