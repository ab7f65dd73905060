"""Passage embeddings, from a cache file where it has them."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..models.bi_encoder import BiEncoder
from ..models.cache import DiskCache, cache_key, model_identity
from ..types import Passage

EMBED_CHUNK = 512  # passages embedded per step (of a re-embed, or of one long document)


class PassageEmbedder:
    """Embeds passages; with ``cache_path`` (a file), embeddings are kept there and reused by
    any index built with the same bi-encoder on the same route."""

    def __init__(self, cache_path: str | Path | None = None) -> None:
        self.cache_path = cache_path

    @functools.cached_property
    def _cache(self) -> DiskCache:
        """The cache, opened on first use (after the data folder has been checked)."""
        return DiskCache(self.cache_path, "vectors")

    def embed(self, encoder: BiEncoder, passages: list[Passage], batch_size: int) -> np.ndarray:
        """One embedding per passage, in order."""
        if self.cache_path is None or not passages:
            return encoder.encode([p.content for p in passages], batch_size)
        model = f"{model_identity(encoder.name)}|{_route(encoder)}"
        rows = self._cache.get_or_compute(
            [cache_key(model, p.content) for p in passages],
            lambda missing: [
                vector.tobytes()
                for vector in encoder.encode([passages[i].content for i in missing], batch_size)
            ],
        )
        return np.stack([np.frombuffer(row, dtype=np.float32) for row in rows])

    def embed_counted(
        self, encoder: BiEncoder, passages: list[Passage], batch_size: int, bar: tqdm
    ) -> np.ndarray:
        """``embed``, ``EMBED_CHUNK`` passages at a time, each step counted on ``bar``."""
        if len(passages) <= EMBED_CHUNK:
            vectors = self.embed(encoder, passages, batch_size)
            bar.update(len(passages))
            return vectors
        steps = []
        for begin in range(0, len(passages), EMBED_CHUNK):
            steps.append(self.embed(encoder, passages[begin : begin + EMBED_CHUNK], batch_size))
            bar.update(len(steps[-1]))
        return np.concatenate(steps)

    def close(self) -> None:
        if "_cache" in self.__dict__:
            self._cache.close()


def _route(encoder) -> str:
    """The runtime an encoder runs on (fp32 torch for the packaged e5's own engine)."""
    runtime = getattr(encoder, "runtime", None)
    return runtime.describe() if runtime is not None else "own"
