"""Token-based chunking of documents into overlapping passages with stable ids."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..types import Passage, Record

# A tokenizer returns the (start, end) character span of each token of a text.
SpanTokenizer = Callable[[str], Sequence[tuple[int, int]]]


@dataclass(frozen=True)
class ChunkSpec:
    """Passage size and overlap, counted in tokens of the bi-encoder's tokenizer."""

    size: int = 200
    overlap: int = 40

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ConfigError(f"Chunk size must be at least 1 token, got {self.size}.")
        if not 0 <= self.overlap < self.size:
            raise ConfigError(
                f"Chunk overlap must be between 0 and the chunk size - 1 ({self.size - 1}), "
                f"got {self.overlap}."
            )


def whitespace_spans(text: str) -> list[tuple[int, int]]:
    """Spans of whitespace-separated words: a tokenizer that needs no model."""
    return [match.span() for match in re.finditer(r"\S+", text)]


def chunk_record(record: Record, tokenize: SpanTokenizer, spec: ChunkSpec) -> list[Passage]:
    """Split one document into passages of ``spec.size`` tokens overlapping by ``spec.overlap``.

    Passage ids are ``<doc_id>#<position>``, so ingesting the same document again produces the
    same ids. Passage text is the exact slice of the original text the tokens cover.
    """
    spans = [span for span in tokenize(record.text) if span[1] > span[0]]
    if not spans:
        spans = [(0, len(record.text))]
    stride = spec.size - spec.overlap
    passages = []
    start_token = 0
    while True:
        window = spans[start_token : start_token + spec.size]
        char_start, char_end = window[0][0], window[-1][1]
        text = record.text[char_start:char_end]
        position = len(passages)
        passages.append(
            Passage(
                passage_id=f"{record.doc_id}#{position}",
                doc_id=record.doc_id,
                title=record.title,
                text=text,
                position=position,
                char_start=char_start,
                char_end=char_end,
                content_hash=content_hash(record.title, text, record.fields),
                fields=record.fields,
            )
        )
        if start_token + spec.size >= len(spans):
            return passages
        start_token += stride


def content_hash(title: str, text: str, fields: dict[str, Any] | None = None) -> str:
    """A short digest of what a passage says and its document's other fields, to skip
    unchanged passages (a passage whose fields alone changed is stored again; its embedding
    comes from the cache when one is kept)."""
    kept = "\x00" + json.dumps(fields, sort_keys=True, ensure_ascii=False) if fields else ""
    return hashlib.sha1(f"{title}\x00{text}{kept}".encode()).hexdigest()[:16]
