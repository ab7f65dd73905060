"""Where an index keeps each part of a passage, and how its BM25 field is analyzed.

esrerank's own indices are one schema (``IndexSchema()``: ``passage_id``, ``doc_id``, ``title``,
``text``, BM25 over ``content``, vectors in ``embedding``); an index built by someone else is
another, naming its own fields. Every other field of a stored document (a category, a date, a
tenant) is the passage's ``fields``: kept at ingest, returned with hits, and what filters test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..types import Passage

TERMS_FIELD = "content_terms"  # client-analyzed tokens of indices not on the standard analyzer
# esrerank's bookkeeping beside a passage's text: where it sits in its document, its digest.
BOOKKEEPING = ("position", "char_start", "char_end", "content_hash")
ESRERANK_BOOKKEEPING = ("content", TERMS_FIELD, *BOOKKEEPING)
# What attach adds to an application's documents: the vectors (of the first passage, or of each
# in a nested field), and the digest of the text they embed (a document whose digest differs
# from its text's is embedded again).
ATTACHED_VECTOR = "esrerank_vector"
ATTACHED_PASSAGES = "esrerank_passages"
ATTACHED_HASH = "esrerank_hash"


@dataclass(frozen=True)
class IndexSchema:
    """The fields that hold a passage's parts in an index's documents (``_source``).

    ``id_field=None``: the engine's document ``_id`` is the passage id; ``doc_id_field=None``:
    each stored document is one passage of its own. ``match_field`` is what BM25 matches;
    ``analyzer`` is ``standard`` (the engine analyzes ``match_field``) or a client-side analysis
    (``esrerank.backends.analysis``) whose tokens are stored in ``match_field``.
    """

    id_field: str | None = "passage_id"
    doc_id_field: str | None = "doc_id"
    title_field: str | None = "title"
    text_field: str = "text"
    match_field: str = "content"
    vector_field: str = "embedding"
    analyzer: str = "standard"
    bookkeeping: tuple[str, ...] = ESRERANK_BOOKKEEPING

    @classmethod
    def esrerank(cls, analyzer: str = "standard") -> IndexSchema:
        """The schema of the indices esrerank creates, for BM25 analysis ``analyzer``."""
        match_field = "content" if analyzer == "standard" else TERMS_FIELD
        return cls(match_field=match_field, analyzer=analyzer)

    nested: str | None = None  # the nested field holding one vector per passage, if any

    @classmethod
    def attached(
        cls, text_field: str, title_field: str | None = None, passages: str = "all"
    ) -> IndexSchema:
        """The schema of an application's index after ``attach``: its documents are whole
        passages under their own ``_id``; BM25 runs on its text field with its own analyzer,
        kNN on what esrerank added beside the digest of the text it embedded: one vector per
        passage in a nested field (``passages="all"``: the best passage scores the document),
        or one of its first passage (``"first"``)."""
        nested = ATTACHED_PASSAGES if passages == "all" else None
        return cls(
            id_field=None,
            doc_id_field=None,
            title_field=title_field,
            text_field=text_field,
            match_field=text_field,
            vector_field=f"{ATTACHED_PASSAGES}.vector" if nested else ATTACHED_VECTOR,
            bookkeeping=(ATTACHED_HASH,),
            nested=nested,
        )

    @property
    def is_attached(self) -> bool:
        return self.bookkeeping == (ATTACHED_HASH,)

    @property
    def passages_embedded(self) -> str:
        """``all`` or ``first``: which passages of an attached index's documents have vectors."""
        return "all" if self.nested else "first"

    @property
    def vectors(self) -> str:
        """The top-level field holding the vectors: what hits leave out of ``_source``."""
        return self.nested or self.vector_field

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IndexSchema:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        if "bookkeeping" in known:
            known["bookkeeping"] = tuple(known["bookkeeping"])
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def named_fields(self) -> frozenset[str]:
        """The fields this schema gives a role, with esrerank's bookkeeping: a document's
        other fields are everything else."""
        named = (
            self.id_field,
            self.doc_id_field,
            self.title_field,
            self.text_field,
            self.match_field,
            self.vector_field,
            self.nested,
            *self.bookkeeping,
        )
        return frozenset(name for name in named if name)

    def passage(self, source: Mapping[str, Any], hit_id: str | None = None) -> Passage:
        """The passage a stored document holds (``hit_id``: the engine's ``_id``)."""
        passage_id = str(source.get(self.id_field) or hit_id) if self.id_field else str(hit_id)
        doc_id = source.get(self.doc_id_field) if self.doc_id_field else None
        text = str(source.get(self.text_field) or "")
        named = self.named_fields
        kept = source if self.bookkeeping == ESRERANK_BOOKKEEPING else {}
        return Passage(
            passage_id=passage_id,
            doc_id=str(doc_id) if doc_id is not None else passage_id,
            title=str(source.get(self.title_field) or "") if self.title_field else "",
            text=text,
            position=int(kept.get("position", 0)),
            char_start=int(kept.get("char_start", 0)),
            char_end=int(kept.get("char_end", len(text))),
            content_hash=str(kept.get("content_hash", source.get(ATTACHED_HASH, ""))),
            fields={name: value for name, value in source.items() if name not in named},
        )

    def source(self, passage: Passage, vector: list[float] | None = None) -> dict[str, Any]:
        """The document stored for ``passage`` (its other fields at the top level, beside the
        schema's own)."""
        source: dict[str, Any] = dict(passage.fields)
        if self.id_field:
            source[self.id_field] = passage.passage_id
        if self.doc_id_field:
            source[self.doc_id_field] = passage.doc_id
        if self.title_field:
            source[self.title_field] = passage.title
        source[self.text_field] = passage.text
        source.update(
            position=passage.position,
            char_start=passage.char_start,
            char_end=passage.char_end,
            content_hash=passage.content_hash,
        )
        if vector is not None:
            source[self.vector_field] = vector
        return source


ESRERANK_SCHEMA = IndexSchema()
# Field names a corpus document cannot keep as its own: esrerank's indices use them.
RESERVED_FIELDS = ESRERANK_SCHEMA.named_fields
