"""Readers for corpus files: a JSON array, JSONL (BEIR ``corpus.jsonl`` included) and a wiki dump
keyed by document id (``{"<id>": {"title", "text", ...}}``, the Korean MRC competition format).

Files are read as streams (``open_corpus``), so a corpus of any size fits in memory; every error
names the file and line.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..backends.schema import RESERVED_FIELDS
from ..errors import InputError
from ..types import Record
from .jsonstream import JsonWindow, json_lines, open_text, valid_unicode

FORMATS = ("auto", "json", "jsonl", "wiki", "beir")
ID_FIELD_CANDIDATES = ("_id", "id", "doc_id", "document_id")


@dataclass(frozen=True)
class Fields:
    """Which fields hold the id, title and text; ``id=None`` tries the usual names. ``keep``
    names the other fields each document keeps (``None``: all of them, ``()``: none)."""

    id: str | None = None
    title: str = "title"
    text: str = "text"
    keep: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CorpusCheck:
    """What one checking pass over a corpus found."""

    documents: int
    opening: str  # the start of the first documents' text, to tell the language
    set_aside: tuple[str, ...] = ()  # field names not kept: esrerank's indices use them


@dataclass(frozen=True)
class Corpus:
    """A corpus file read as a stream: iterating yields each document, checked as it is read
    (a bad one raises ``InputError`` naming the file and line); memory does not grow with the
    file, only with the number of document ids (kept to catch duplicates)."""

    path: Path
    format: str
    fields: Fields = Fields()

    def __iter__(self) -> Iterator[Record]:
        first_seen: dict[str, int] = {}
        entries = (
            _jsonl_entries(self.path)
            if self.format in ("jsonl", "beir")
            else _json_entries(self.path, self.format)
        )
        for line, key, obj in entries:
            record = _to_record(self.path, line, key, obj, self.fields)
            if record.doc_id in first_seen:
                raise InputError(
                    f"{self.path}:{line}: duplicate document id '{record.doc_id}' "
                    f"(first seen on line {first_seen[record.doc_id]}). Ids must be unique."
                )
            first_seen[record.doc_id] = line
            yield record
        if not first_seen:
            raise InputError(f"{self.path}: the corpus holds no documents. Nothing to ingest.")

    def check(self, progress: bool = False) -> CorpusCheck:
        """Read every document once, keeping none; raise ``InputError`` on the first problem."""
        documents = 0
        opening: list[str] = []
        set_aside: set[str] = set()
        for record in tqdm(self, unit="doc", desc="check", disable=not progress):
            documents += 1
            set_aside.update(record.set_aside)
            if documents <= 200:
                opening.append(record.text[:500])
        return CorpusCheck(documents, " ".join(opening), tuple(sorted(set_aside)))


def open_corpus(path: str | Path, fmt: str = "auto", fields: Fields = Fields()) -> Corpus:
    """The corpus in ``path``, its format detected from the first entries when ``auto``."""
    path = Path(path)
    if fmt not in FORMATS:
        raise InputError(f"Unknown format '{fmt}'. Choose one of {', '.join(FORMATS)}.")
    if not path.is_file():
        raise InputError(f"Corpus file '{path}' not found. Check the path.")
    return Corpus(path, _detect(path) if fmt == "auto" else fmt, fields)


def read_corpus(path: str | Path, fmt: str = "auto", fields: Fields = Fields()) -> list[Record]:
    """Every document of ``path``, read and checked (a list: for files that fit in memory)."""
    return list(open_corpus(path, fmt, fields))


def _detect(path: Path) -> str:
    """``json`` for an array (whatever the suffix); ``jsonl`` by suffix; for an object, ``wiki``
    when its first entries are documents (a dump keyed by id) and it is the file's only value,
    else ``jsonl``."""
    with open(path, "rb") as handle:  # bytes: the rest of the file may not be UTF-8
        head = handle.read(4096).removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n")[:1]
    if head == b"[":
        return "json"
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return "jsonl"
    with open_text(path) as handle:
        window = JsonWindow(path, handle)
        if window.take() != "{":
            raise InputError(
                f"{path}: cannot tell the format (expected a JSON array, JSONL or a wiki dump "
                "object). Set `fmt`.",
                settings=("fmt",),
            )
        try:
            for _ in range(2):
                window.value()  # the key
                if window.take() != ":":
                    return "jsonl"
                _, value = window.value()
                if not isinstance(value, dict):
                    return "jsonl"
                token = window.take()
                if token == "}":  # one whole object: a dump, unless more objects follow
                    return "jsonl" if window.peek() else "wiki"
                if token != ",":
                    return "wiki"
        except InputError:
            return "wiki"  # not a document per line: let the dump reader name the bad line
        return "wiki"


def _jsonl_entries(path: Path) -> Iterator[tuple[int, str | None, Any]]:
    for number, value in json_lines(path):
        yield number, None, value


def _json_entries(path: Path, fmt: str) -> Iterator[tuple[int, str | None, Any]]:
    """Walk the top-level array (``json``) or object (``wiki``), yielding each entry's line."""
    opener, closer = ("[", "]") if fmt == "json" else ("{", "}")
    with open_text(path) as handle:
        window = JsonWindow(path, handle)
        line = window.line()
        if window.take() != opener:
            kind = "a JSON array" if fmt == "json" else "a JSON object keyed by document id"
            raise InputError(f"{path}:{line}: expected {kind}. Check `fmt`.", settings=("fmt",))
        if window.peek() == closer:
            return
        while True:
            key = None
            if fmt == "wiki":
                _, key = window.value()
                if window.take() != ":":
                    raise window.error("Expecting ':' delimiter")
            line, value = window.value()
            yield line, None if key is None else str(key), value
            token = window.take()
            if token == closer:
                return
            if token != ",":
                raise window.error(f"expecting ',' or '{closer}'")


def _to_record(path: Path, line: int, key: str | None, obj: Any, fields: Fields) -> Record:
    where = f"{path}:{line}"
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object per document, got {type(obj).__name__}.")
    doc_id, id_field = _doc_id(where, key, obj, fields)
    text = obj.get(fields.text)
    if not isinstance(text, str) or not text.strip():
        problem = "has no" if fields.text not in obj else "has an empty or non-string"
        raise InputError(
            f"{where}: document '{doc_id}' {problem} '{fields.text}' field. "
            "Fix the document or name the text field with `text_field`.",
            settings=("text_field",),
        )
    others = _other_fields(obj, fields, id_field)
    title = obj.get(fields.title) or ""
    if not isinstance(title, str):
        title = str(title)
    return Record(
        doc_id=valid_unicode(doc_id),
        title=valid_unicode(title.strip()),
        text=valid_unicode(text),
        source=where,
        fields={name: value for name, value in others.items() if name not in RESERVED_FIELDS},
        set_aside=tuple(name for name in others if name in RESERVED_FIELDS),
    )


def _other_fields(obj: dict, fields: Fields, id_field: str | None) -> dict[str, Any]:
    """The document's fields besides its id, title and text that ``fields.keep`` names; empty
    values (null, ``{}``, ``[]``) are left out, as the engines index nothing for them."""
    roles = {id_field, fields.title, fields.text}
    return {
        name: value
        for name, value in obj.items()
        if name not in roles
        and (fields.keep is None or name in fields.keep)
        and value not in (None, {}, [])
    }


def _doc_id(where: str, key: str | None, obj: dict, fields: Fields) -> tuple[str, str | None]:
    """The document's id, and the field it came from (``None``: the dump's key)."""
    if fields.id is not None:
        if fields.id not in obj:
            raise InputError(
                f"{where}: document has no '{fields.id}' field (set by `id_field`).",
                settings=("id_field",),
            )
        value, source = obj[fields.id], fields.id
    elif key is not None:
        value, source = key, None
    else:
        found = next((name for name in ID_FIELD_CANDIDATES if name in obj), None)
        if found is None:
            raise InputError(
                f"{where}: document has no id field (looked for {', '.join(ID_FIELD_CANDIDATES)}). "
                "Name it with `id_field`.",
                settings=("id_field",),
            )
        value, source = obj[found], found
    if value is None or str(value).strip() == "":
        raise InputError(f"{where}: document has an empty id.")
    return str(value), source
