"""Cross-encoder scores kept on disk, so evaluating again (another backend, other strategies)
scores only pairs it has not seen. A score is keyed by model, truncation, runtime (backend and
precision), query and passage."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import ModelError
from ..models.cache import DiskCache, cache_key, model_identity
from ..models.reranker import Reranker
from ..types import Passage


class RerankCache:
    """``(model, runtime, query, passage content) -> probability``."""

    def __init__(self, path: str | Path, reranker: Reranker, max_length: int) -> None:
        self.store = DiskCache(path, "scores")
        self.reranker = reranker
        # "probability": scores are the model's relevance probabilities (``Reranker.score``),
        # from the exact route of a checked one (fp32 of bf16-checked)
        identity = model_identity(reranker.name)
        route = reranker.runtime.exact.describe()
        self.model = f"{identity}|{max_length}|{route}|probability"

    def scores(self, query: str, passages: Sequence[Passage]) -> dict[str, float]:
        """Each passage's score against ``query``: from the cache, else scored and stored."""
        keys = [cache_key(self.model, query, p.content) for p in passages]
        scores = self.store.get_or_compute(keys, lambda todo: self._score(query, passages, todo))
        return {p.passage_id: score for p, score in zip(passages, scores, strict=True)}

    def _score(self, query: str, passages: Sequence[Passage], positions: list[int]) -> list[float]:
        outcome = self.reranker.score(query, [passages[i].content for i in positions])
        if not outcome.reranked:
            raise ModelError(f"Reranking failed: {outcome.reason}")
        return [float(score) for score in outcome.scores]

    def close(self) -> None:
        self.store.close()
