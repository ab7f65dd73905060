"""Cross-encoder scores kept on disk, so evaluating again (another backend, other strategies)
scores only pairs it has not seen. A score is keyed by model, truncation, query and passage."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..cache import DiskCache, cache_key, model_identity
from ..errors import ModelError
from ..rerank import Reranker
from ..types import Passage


class RerankCache:
    """``(model, query, passage content) -> score``."""

    def __init__(self, path: str | Path, reranker: Reranker, max_length: int) -> None:
        self.store = DiskCache(path, "scores")
        self.reranker = reranker
        self.model = f"{model_identity(reranker.name)}|{max_length}"

    def scores(self, query: str, passages: Sequence[Passage]) -> dict[str, float]:
        """Each passage's score against ``query``: from the cache, else scored and stored."""
        keys = {p.passage_id: cache_key(self.model, query, p.content) for p in passages}
        found = self.store.get_many(list(keys.values()))
        todo = [p for p in passages if keys[p.passage_id] not in found]
        if todo:
            outcome = self.reranker.score(query, [p.content for p in todo])
            if not outcome.reranked:
                raise ModelError(f"Reranking failed: {outcome.reason}")
            new = {keys[p.passage_id]: float(s) for p, s in zip(todo, outcome.scores, strict=True)}
            self.store.put_many(new.items())
            found.update(new)
        return {pid: found[key] for pid, key in keys.items()}

    def close(self) -> None:
        self.store.close()
