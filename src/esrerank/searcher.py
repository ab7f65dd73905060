"""The public entry point: ``Searcher`` ingests corpus files and answers reranked hybrid queries.

It is a thin facade over the parts that do the work, each usable on its own: an
``IndexHandle`` (an index on a backend, with what is stored with it), a ``ModelPool`` (models
loaded once, shared between indices), an ``Ingester`` and a ``SearchPipeline``."""

from __future__ import annotations

from pathlib import Path

from .backends import Backend, IndexMeta, open_backend
from .backends.connection import Cluster
from .config import DEFAULT_INDEX, default_data_dir
from .indexing.attach import Attacher
from .indexing.handle import IndexHandle
from .indexing.ingest import Ingester
from .indexing.passage_embeddings import PassageEmbedder
from .indexing.reembed import reembed
from .models.bi_encoder import BiEncoder
from .models.hub import DEFAULT_CROSS_ENCODER
from .models.pool import ModelPool
from .models.reranker import Reranker
from .models.runtimes import Runtime
from .search.pipeline import SearchPipeline, SearchResult
from .types import IngestReport

__all__ = ["Searcher", "SearchResult"]


class Searcher:
    """Ingest into and search one index on the embedded store, OpenSearch or Elasticsearch.

    Models given by name or folder load on first use (the cross-encoder only when a search
    reranks). ``ingest``, ``attach`` and ``search`` are its parts' methods (``Ingester``,
    ``Attacher``, ``SearchPipeline``); see their arguments there.

    Args:
        url: The engine's URL, or an ``esrerank.Cluster`` with credentials and TLS settings;
            ``None``: the embedded store under ``data_dir``.
        index: The index's name.
        backend: A backend configured by the caller, used instead of ``url``.
        models: A ``ModelPool`` shared between searchers (its options then apply, not this
            constructor's).
        data_dir: The embedded store's folder (default: ``$ESRERANK_DATA_DIR`` or the XDG data
            home).
        bi_encoder: A name, folder or loaded ``BiEncoder``; ``None`` is the index's own, or for
            a new index one chosen from its corpus (``esrerank.indexing.corpus_defaults``).
        reranker: A name, folder or loaded ``Reranker``.
        rerank_max_length: Tokens of a (query, passage) pair the cross-encoder reads.
        rerank_batch_size: Pairs per cross-encoder call.
        rerank_memory: Cross-encoder scores kept in memory for searches that come again
            (``esrerank.models.score_memory``; 0, none, by default).
        device: ``cpu`` or a torch device such as ``cuda``; a GPU means the torch runtime.
        rerank_runtime, bi_encoder_runtime: Where each model runs
            (``esrerank.models.runtimes``: by default the fastest route installed).
        embedding_cache: A file where passage embeddings are kept and reused by any index built
            with the same bi-encoder.
    """

    def __init__(
        self,
        url: str | Cluster | None = None,
        index: str = DEFAULT_INDEX,
        *,
        backend: Backend | None = None,
        models: ModelPool | None = None,
        data_dir: str | Path | None = None,
        bi_encoder: str | BiEncoder | None = None,
        reranker: str | Reranker = DEFAULT_CROSS_ENCODER,
        rerank_max_length: int = 256,
        rerank_batch_size: int = 16,
        rerank_memory: int = 0,
        device: str | None = None,
        rerank_runtime: Runtime = Runtime(),
        bi_encoder_runtime: Runtime = Runtime(),
        embedding_cache: str | Path | None = None,
    ) -> None:
        self.index = index
        self.backend = backend or open_backend(url, data_dir or default_data_dir())
        self.models = models or ModelPool(
            device=device,
            bi_encoder_runtime=bi_encoder_runtime,
            rerank_runtime=rerank_runtime,
            rerank_max_length=rerank_max_length,
            rerank_batch_size=rerank_batch_size,
            rerank_memory=rerank_memory,
        )
        self.handle = IndexHandle(self.backend, index, bi_encoder)
        self.embedder = PassageEmbedder(embedding_cache)
        self.ingester = Ingester(self.handle, self.models, self.embedder)
        self.pipeline = SearchPipeline(self.handle, self.models, reranker)
        self.attacher = Attacher(self.handle, self.models, self.embedder)
        self.ingest = self.ingester.ingest
        self.attach = self.attacher.attach
        self.search = self.pipeline.search

    @property
    def encoder(self) -> BiEncoder:
        """The bi-encoder this index is used with, loaded on first use."""
        return self.models.bi_encoder(self.handle.encoder_choice())

    @property
    def reranker(self) -> Reranker:
        """The cross-encoder, loaded on first use."""
        return self.pipeline.reranker

    def warm_up(self) -> None:
        """Load both models now, so the first search does not wait for them."""
        self.models.warm_up(self.handle.encoder_choice(), self.pipeline.reranker_choice)

    def meta(self) -> IndexMeta:
        """The index's build record."""
        return self.handle.meta()

    def count(self) -> int:
        return self.handle.count()

    def reembed(
        self, bi_encoder: str | BiEncoder, *, batch_size: int = 32, progress: bool = False
    ) -> IngestReport:
        """Rebuild the index with another bi-encoder (``esrerank.indexing.reembed``)."""
        return reembed(
            self.handle,
            self.models,
            self.embedder,
            bi_encoder,
            batch_size=batch_size,
            progress=progress,
        )

    def close(self) -> None:
        self.backend.close()
        self.embedder.close()

    def __enter__(self) -> Searcher:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
