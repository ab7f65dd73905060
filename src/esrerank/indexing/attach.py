"""``attach``: make an application's own index searchable by esrerank, keeping its documents,
ids, fields and analyzers.

The index gains its vectors and the digest of the text they embed (``esrerank_hash``), and
esrerank's build record in its ``_meta``; BM25 then runs on the application's text field with its
own analyzer. A document is cut into passages of ``chunk_size`` tokens (with its title) as ingest
cuts one; each passage gets a vector in a nested field (``esrerank_passages``, the best passage
scoring the document), or with ``passages="first"`` only the first does (``esrerank_vector``).
Vectors are written by partial updates, a batch at a time: a run stopped anywhere is run again,
and embeds only documents with no vectors or whose text changed since, as it does for documents
the application adds later.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from ..backends import IndexMeta
from ..backends.reindex import copy_and_swap
from ..backends.rest import META_KEY, RestBackend
from ..backends.schema import ATTACHED_HASH, ATTACHED_PASSAGES, ATTACHED_VECTOR, IndexSchema
from ..corpus import ChunkSpec, chunk_record
from ..errors import ConfigError, IndexNotFoundError
from ..models.bi_encoder import BiEncoder
from ..models.hub import MULTILINGUAL_BI_ENCODER
from ..models.pool import ModelPool
from ..types import Passage, Record
from .corpus_defaults import CJK_TEXT, choose_bi_encoder
from .handle import IndexHandle
from .passage_embeddings import PassageEmbedder

PASSAGES = ("all", "first")  # which passages of a document get a vector
TEXT_TYPES = ("text", "match_only_text")
TITLE_TYPES = (*TEXT_TYPES, "keyword")
VECTOR_SETTINGS = {"knn": True}  # what an OpenSearch index needs for HNSW vectors
NO_VECTORS = {"bool": {"must_not": [{"exists": {"field": ATTACHED_HASH}}]}}
OPENING_DOCUMENTS = 50  # documents whose text picks the bi-encoder
BATCH = 256  # passages embedded and written per step (of whole documents)


@dataclass
class AttachReport:
    """What one ``attach`` run did."""

    index: str
    documents: int = 0  # seen in the index
    embedded: int = 0  # given a vector now (new, or their text changed)
    unchanged: int = 0  # whose vector was current
    skipped: int = 0  # with no text to embed
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> int:
        return len(self.failures)

    def summary(self) -> str:
        rate = self.documents / self.seconds if self.seconds else 0.0
        return (
            f"documents={self.documents} embedded={self.embedded} unchanged={self.unchanged} "
            f"skipped={self.skipped} failed={self.failed} seconds={self.seconds:.1f} "
            f"docs/s={rate:.1f}"
        )


class Attacher:
    """Attaches ``handle``'s index (on an engine) and embeds what it lacks."""

    def __init__(self, handle: IndexHandle, models: ModelPool, embedder: PassageEmbedder):
        self.handle = handle
        self.models = models
        self.embedder = embedder

    def attach(
        self,
        text_field: str,
        title_field: str | None = None,
        *,
        passages: str = "all",
        reindex: bool = False,
        only_new: bool = False,
        chunking: ChunkSpec = ChunkSpec(),
        batch_size: int = 32,
        progress: bool = False,
    ) -> AttachReport:
        """Make the application's own index hybrid: add the vector fields and build record
        (once), then embed every document whose vectors are missing or stale.

        Args:
            text_field: The documents' field whose text is embedded.
            title_field: A field embedded before the text, if any.
            passages: ``all``: every passage of a long text gets a vector; ``first``: only the
                first (one vector per document).
            reindex: An index that cannot take vectors as it is (OpenSearch without
                ``index.knn``) is first copied into one that can, which then takes its name
                (``esrerank.backends.reindex``).
            only_new: Read only documents with no vectors yet (a quick round; a full one also
                finds changed texts).
            chunking: Passage size and overlap, in the bi-encoder's tokens.
            batch_size: Passages per model call.
            progress: Show a progress bar.

        Returns:
            An ``AttachReport``: documents read, embedded, unchanged, skipped and failed, and
            notes on what was chosen or copied.

        Raises:
            ConfigError: a field that does not fit, or an index attached another way.
            BackendError: the cluster refused a request (the embedded store cannot attach).
        """
        if passages not in PASSAGES:
            raise ConfigError(
                f"`passages` '{passages}' is not one of {', '.join(PASSAGES)}.",
                settings=("passages",),
            )
        backend = self._backend()
        started = time.perf_counter()
        report = AttachReport(self.handle.name)
        if reindex and backend.vectors_blocked(self.handle.name):
            original, copy = copy_and_swap(backend, self.handle.name, VECTOR_SETTINGS)
            report.notes += (
                f"copied '{original}' into '{copy}' with index.knn on; '{self.handle.name}' "
                "now names the copy",
            )
        meta = self._prepare(backend, text_field, title_field, passages, chunking, report)
        encoder = self.models.bi_encoder(self.handle.bi_encoder or meta.model)
        schema = meta.index_schema()
        cut = Cutter(encoder, ChunkSpec(meta.chunk_size, meta.chunk_overlap), schema)
        source = [name for name in (text_field, title_field, ATTACHED_HASH) if name]
        query = NO_VECTORS if only_new else {"match_all": {}}
        hits = backend.scan(self.handle.name, query, source)
        total = backend.count(self.handle.name, query)
        with tqdm(total=total, unit="doc", desc="attach", disable=not progress) as bar:
            batch: list[tuple[str, list[Passage]]] = []
            for hit in hits:
                report.documents += 1
                bar.update(1)
                pieces = cut(schema.passage(hit["_source"], hit["_id"]))
                if not pieces:
                    report.skipped += 1
                elif hit["_source"].get(ATTACHED_HASH) == digest(meta.model, pieces):
                    report.unchanged += 1
                else:
                    batch.append((hit["_id"], pieces))
                if sum(len(pieces) for _, pieces in batch) >= BATCH:
                    self._write(backend, encoder, meta.model, schema, batch, batch_size, report)
                    batch = []
            self._write(backend, encoder, meta.model, schema, batch, batch_size, report)
        backend.refresh(self.handle.name)
        report.seconds = time.perf_counter() - started
        return report

    def _backend(self) -> RestBackend:
        backend = self.handle.backend
        if not isinstance(backend, RestBackend):
            raise ConfigError(
                "attach makes an OpenSearch or Elasticsearch index searchable: set `url` to the "
                "cluster (the embedded store holds esrerank's own indices only).",
                settings=("url",),
            )
        if not backend.index_exists(self.handle.name):
            raise IndexNotFoundError(
                f"Index '{self.handle.name}' not found on {backend.location}: give the name of "
                "an existing index (or alias) to attach.",
            )
        return backend

    def _prepare(
        self,
        backend: RestBackend,
        text_field: str,
        title_field: str | None,
        passages: str,
        chunking: ChunkSpec,
        report: AttachReport,
    ) -> IndexMeta:
        """The index's build record: the stored one when it is attached already (the same
        way), else a new one, stored with the new fields once every check passed."""
        index = self.handle.name
        mappings = backend.mappings(index)
        stored = mappings.get("_meta", {}).get(META_KEY)
        if stored is not None:
            return self._reattach(IndexMeta.from_dict(stored), text_field, title_field, passages)
        fields = field_types(mappings.get("properties", {}))
        check_field(index, fields, text_field, "text_field", TEXT_TYPES)
        if title_field:
            check_field(index, fields, title_field, "title_field", TITLE_TYPES)
        for name in (ATTACHED_VECTOR, ATTACHED_PASSAGES, ATTACHED_HASH):
            if name in fields:
                raise ConfigError(
                    f"Index '{index}' already has a field '{name}' ({fields[name]}) that "
                    "esrerank did not add: esrerank keeps its vectors there. Nothing was changed."
                )
        blocked = backend.vectors_blocked(index)
        if blocked:
            raise ConfigError(
                f"{blocked[0].upper()}{blocked[1:]}: attach with `reindex` to copy it into one "
                "that has it (writes to it are refused during the copy), which then takes its "
                "name. Nothing was changed.",
                settings=("reindex",),
            )
        choice = self.handle.bi_encoder or self._choose_bi_encoder(backend, text_field, report)
        encoder = self.models.bi_encoder(choice)
        schema = IndexSchema.attached(text_field, title_field, passages)
        meta = IndexMeta(
            model=encoder.name,
            dimension=encoder.dimension,
            chunk_size=chunking.size,
            chunk_overlap=chunking.overlap,
            schema=schema.to_dict(),
        )
        vector = backend.vector_mapping(encoder.dimension)
        if schema.nested:
            vector = {"type": "nested", "properties": {"vector": vector}}
        backend.put_meta(index, meta, {schema.vectors: vector, ATTACHED_HASH: {"type": "keyword"}})
        self.handle.forget_meta()
        return meta

    def _reattach(
        self, meta: IndexMeta, text_field: str, title_field: str | None, passages: str
    ) -> IndexMeta:
        index = self.handle.name
        schema = meta.index_schema()
        if not schema.is_attached:
            raise ConfigError(
                f"Index '{index}' was built by esrerank's ingest: ingest into it, or attach "
                "an application's own index."
            )
        stored = (schema.text_field, schema.title_field, schema.passages_embedded)
        if stored != (text_field, title_field, passages):
            raise ConfigError(
                f"Index '{index}' is attached with `text_field` {stored[0]}, `title_field` "
                f"{stored[1]} and `passages` {stored[2]}: attach it the same way.",
                settings=("text_field", "title_field", "passages"),
            )
        if self.handle.bi_encoder is not None:
            encoder = self.models.bi_encoder(self.handle.bi_encoder)
            meta.check_model(index, encoder.name, encoder.dimension)
        return meta

    def _choose_bi_encoder(self, backend: RestBackend, text_field: str, report) -> str:
        """The bi-encoder for the documents' language, as ingest chooses one for a corpus."""
        body = {"size": OPENING_DOCUMENTS, "_source": [text_field]}
        hits = backend.client.request("POST", f"/{self.handle.name}/_search", body)
        opening = " ".join(str(h["_source"].get(text_field, "")) for h in hits["hits"]["hits"])
        choice = choose_bi_encoder(opening)
        if choice.value == MULTILINGUAL_BI_ENCODER:
            report.notes += (choice.note,)
        elif choice.note:
            report.notes += (
                f"{CJK_TEXT}, which the English bi-encoder {choice.value} embeds poorly: pip "
                f"install 'esrerank[multilingual]' and attach with bi_encoder "
                f"{MULTILINGUAL_BI_ENCODER}",
            )
        return choice.value

    def _write(self, backend, encoder, model, schema, batch, batch_size, report) -> None:
        """Embed a batch's passages and write each document's vectors beside their digest."""
        if not batch:
            return
        flat = [passage for _, pieces in batch for passage in pieces]
        vectors = iter(self.embedder.embed(encoder, flat, batch_size).tolist())
        changes = []
        for doc_id, pieces in batch:
            mine = [next(vectors) for _ in pieces]
            stored = [{"vector": v} for v in mine] if schema.nested else mine[0]
            changes.append((doc_id, {schema.vectors: stored, ATTACHED_HASH: digest(model, pieces)}))
        result = backend.update(self.handle.name, changes)
        report.embedded += result.indexed
        report.failures += [f"{doc_id}: {reason}" for doc_id, reason in result.failures]


class Cutter:
    """A document's passages to embed: all of them, or the first (none when it has no text)."""

    def __init__(self, encoder: BiEncoder, chunking: ChunkSpec, schema: IndexSchema):
        self.encoder, self.chunking, self.all = encoder, chunking, bool(schema.nested)

    def __call__(self, document: Passage) -> list[Passage]:
        if not document.text.strip():
            return []
        record = Record(document.doc_id, document.title, document.text, source=document.doc_id)
        pieces = chunk_record(record, self.encoder.token_spans, self.chunking)
        return pieces if self.all else pieces[:1]


def digest(model: str, passages: list[Passage]) -> str:
    """What a document's vectors were made from: the model and the passages it embedded."""
    text = "\x1e".join(passage.content for passage in passages)
    return hashlib.sha1(f"{model}\x00{text}".encode()).hexdigest()[:16]


def field_types(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Every field of a mapping by its dotted path, with its type (``object`` when it has
    properties of its own; multi-fields as ``field.sub``)."""
    types: dict[str, str] = {}
    for name, mapping in properties.items():
        path = prefix + name
        types[path] = mapping.get("type", "object")
        types.update(field_types(mapping.get("properties", {}), path + "."))
        types.update(field_types(mapping.get("fields", {}), path + "."))
    return types


def check_field(
    index: str, fields: dict[str, str], name: str, setting: str, types: tuple[str, ...]
) -> None:
    """A ``ConfigError`` when ``name`` is missing from the mapping or of another type."""
    fitting = sorted(path for path, kind in fields.items() if kind in types)
    offer = f" ({' or '.join(types)} fields: {', '.join(fitting[:10]) or 'none'})"
    if name not in fields:
        raise ConfigError(
            f"Index '{index}' has no field '{name}': set `{setting}` to one it has{offer}. "
            "Nothing was changed.",
            settings=(setting,),
        )
    if fields[name] not in types:
        raise ConfigError(
            f"`{setting}` '{name}' of index '{index}' is a {fields[name]} field, not "
            f"{' or '.join(types)}: pick another{offer}. Nothing was changed.",
            settings=(setting,),
        )
