"""The bi-encoder: embeds passages and queries, and tokenizes text for chunking."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from .models import DEFAULT_BI_ENCODER, load_model

log = logging.getLogger(__name__)


class BiEncoder:
    """A sentence-transformers model producing unit-length embeddings."""

    def __init__(self, name: str = DEFAULT_BI_ENCODER, device: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = name
        self.model = load_model(
            name, "bi-encoder", lambda location: SentenceTransformer(location, device=device)
        )
        dimension = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension())
        self.tokenizer = self.model.tokenizer

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the model's tokens in ``text`` (for token-based chunking)."""
        encoded = self.tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        return [tuple(span) for span in encoded["offset_mapping"]]

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32, copy=False)
