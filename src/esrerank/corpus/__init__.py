"""Reading corpus files and chunking documents into passages."""

from .chunking import ChunkSpec, chunk_record, whitespace_spans
from .queries import read_qrels, read_queries
from .readers import FORMATS, Corpus, CorpusCheck, Fields, open_corpus, read_corpus

__all__ = [
    "ChunkSpec",
    "Corpus",
    "CorpusCheck",
    "Fields",
    "FORMATS",
    "chunk_record",
    "open_corpus",
    "read_corpus",
    "read_qrels",
    "read_queries",
    "whitespace_spans",
]
