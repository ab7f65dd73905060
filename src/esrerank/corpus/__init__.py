"""Reading corpus files and chunking documents into passages."""

from .chunking import ChunkSpec, chunk_record, whitespace_spans
from .queries import read_qrels, read_queries
from .readers import FORMATS, Fields, read_corpus

__all__ = [
    "ChunkSpec",
    "Fields",
    "FORMATS",
    "chunk_record",
    "read_corpus",
    "read_qrels",
    "read_queries",
    "whitespace_spans",
]
