"""Rebuild an index with another bi-encoder, from the documents it holds."""

from __future__ import annotations

import time
from dataclasses import replace

from tqdm.auto import tqdm

from ..corpus import ChunkSpec, chunk_record
from ..models.bi_encoder import BiEncoder
from ..models.pool import ModelPool
from ..types import IngestReport, Passage, Record
from .handle import IndexHandle
from .passage_embeddings import PassageEmbedder


def reembed(
    handle: IndexHandle,
    models: ModelPool,
    embedder: PassageEmbedder,
    bi_encoder: str | BiEncoder,
    *,
    batch_size: int = 32,
    progress: bool = False,
) -> IngestReport:
    """Documents are put back together from their passages, chunked with the new model's
    tokenizer (same size and overlap) and embedded; only then is the index rebuilt beside the
    old one and swapped in when complete (``Backend.rebuild``), so a model that fails to load
    or run, or a write that fails, leaves it as it was and searches never find it missing.
    Stored settings are kept, and ``handle`` is used with the new bi-encoder from then on."""
    backend = handle.backend
    with backend.writer(handle.name):
        started = time.perf_counter()
        old = backend.get_meta(handle.name)
        old.check_not_attached(handle.name)
        records = documents_of(list(backend.passages(handle.name)), handle.name)
        encoder = models.bi_encoder(bi_encoder)
        chunking = ChunkSpec(old.chunk_size, old.chunk_overlap)
        passages = [p for r in records for p in chunk_record(r, encoder.token_spans, chunking)]
        bar = tqdm(total=len(passages), unit="passage", desc="embed", disable=not progress)
        embedding = time.perf_counter()
        with bar:
            vectors = embedder.embed_counted(encoder, passages, batch_size, bar)
        embed_seconds = time.perf_counter() - embedding
        meta = replace(old, model=encoder.name, dimension=encoder.dimension)
        result = backend.rebuild(handle.name, meta, passages, vectors)
        handle.rebuilt_with(encoder)
    return IngestReport(
        documents=len(records),
        passages=len(passages),
        indexed=result.indexed,
        unchanged=0,
        deleted=0,
        failed=len(result.failures),
        seconds=time.perf_counter() - started,
        embed_seconds=embed_seconds,
        failures=tuple(f"{pid}: {reason}" for pid, reason in result.failures),
    )


def documents_of(passages: list[Passage], index: str) -> list[Record]:
    """Documents rebuilt from their stored passages: each passage is the exact slice of the
    text it covers, so the slices laid at their offsets give the text back (gaps as spaces)."""
    by_doc: dict[str, list[Passage]] = {}
    for passage in passages:
        by_doc.setdefault(passage.doc_id, []).append(passage)
    records = []
    for doc_id, parts in by_doc.items():
        text = [" "] * max(p.char_end for p in parts)
        for part in parts:
            text[part.char_start : part.char_end] = part.text
        title = parts[0].title
        records.append(
            Record(doc_id, title, "".join(text).strip(), f"index '{index}'", parts[0].fields)
        )
    return records
