"""Readers for corpus files: a JSON array, JSONL (BEIR ``corpus.jsonl`` included) and a wiki dump
keyed by document id (``{"<id>": {"title", "text", ...}}``, the Korean MRC competition format).

Every document is checked before anything is indexed, and each error names the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..types import Record

FORMATS = ("auto", "json", "jsonl", "wiki", "beir")
ID_FIELD_CANDIDATES = ("_id", "id", "doc_id", "document_id")


@dataclass(frozen=True)
class Fields:
    """Which fields hold the id, title and text; ``id=None`` tries the usual names."""

    id: str | None = None
    title: str = "title"
    text: str = "text"


def read_corpus(path: str | Path, fmt: str = "auto", fields: Fields = Fields()) -> list[Record]:
    """Read and validate every document of ``path``; raise ``InputError`` on the first problem."""
    path = Path(path)
    if fmt not in FORMATS:
        raise InputError(f"Unknown format '{fmt}'. Choose one of {', '.join(FORMATS)}.")
    if not path.is_file():
        raise InputError(f"Corpus file '{path}' not found. Check the path.")
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc
    fmt = _detect(path, raw) if fmt == "auto" else fmt
    entries = (
        _jsonl_entries(path, raw) if fmt in ("jsonl", "beir") else _json_entries(path, raw, fmt)
    )
    records: list[Record] = []
    first_seen: dict[str, int] = {}
    for line, key, obj in entries:
        record = _to_record(path, line, key, obj, fields)
        if record.doc_id in first_seen:
            raise InputError(
                f"{path}:{line}: duplicate document id '{record.doc_id}' "
                f"(first seen on line {first_seen[record.doc_id]}). Ids must be unique."
            )
        first_seen[record.doc_id] = line
        records.append(record)
    if not records:
        raise InputError(f"{path}: the corpus holds no documents. Nothing to ingest.")
    return records


def _detect(path: Path, raw: str) -> str:
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return "jsonl"
    head = raw.lstrip()[:1]
    if head == "[":
        return "json"
    if head == "{":
        # A wiki dump is one object whose values are documents; anything else is JSONL.
        try:
            whole = json.loads(raw)
        except json.JSONDecodeError:
            first_line = raw.lstrip().split("\n", 1)[0]
            try:
                json.loads(first_line)
                return "jsonl"
            except json.JSONDecodeError:
                return "wiki"  # a multi-line object: let the dump reader name the bad line
        is_dump = isinstance(whole, dict) and all(isinstance(v, dict) for v in whole.values())
        return "wiki" if is_dump else "jsonl"
    raise InputError(
        f"{path}: cannot tell the format (expected a JSON array, JSONL or a wiki dump object). "
        "Pass --format."
    )


def _jsonl_entries(path: Path, raw: str) -> Iterator[tuple[int, str | None, Any]]:
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, None, json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}:{number}: invalid JSON ({exc.msg} at column {exc.colno}). "
                "Each line of a JSONL file must be one JSON object."
            ) from exc


def _json_entries(path: Path, raw: str, fmt: str) -> Iterator[tuple[int, str | None, Any]]:
    """Walk the top-level array (``json``) or object (``wiki``), yielding each entry's line."""
    opener, closer = ("[", "]") if fmt == "json" else ("{", "}")
    decoder = json.JSONDecoder()
    pos = _skip_space(raw, 0)
    if raw[pos : pos + 1] != opener:
        kind = "a JSON array" if fmt == "json" else "a JSON object keyed by document id"
        raise InputError(f"{path}:{_line(raw, pos)}: expected {kind}. Check --format.")
    pos = _skip_space(raw, pos + 1)
    if raw[pos : pos + 1] == closer:
        return
    while True:
        key = None
        try:
            if fmt == "wiki":
                key, pos = decoder.raw_decode(raw, pos)
                pos = _skip_space(raw, pos)
                if raw[pos : pos + 1] != ":":
                    raise json.JSONDecodeError("Expecting ':' delimiter", raw, pos)
                pos = _skip_space(raw, pos + 1)
            start = pos
            value, pos = decoder.raw_decode(raw, pos)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}:{exc.lineno}: invalid JSON ({exc.msg} at column {exc.colno}). "
                "Fix the file and run again."
            ) from exc
        yield _line(raw, start), None if key is None else str(key), value
        pos = _skip_space(raw, pos)
        token = raw[pos : pos + 1]
        if token == closer:
            return
        if token != ",":
            raise InputError(
                f"{path}:{_line(raw, pos)}: invalid JSON (expecting ',' or '{closer}'). "
                "Fix the file and run again."
            )
        pos = _skip_space(raw, pos + 1)


def _to_record(path: Path, line: int, key: str | None, obj: Any, fields: Fields) -> Record:
    where = f"{path}:{line}"
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object per document, got {type(obj).__name__}.")
    doc_id = _doc_id(where, key, obj, fields)
    text = obj.get(fields.text)
    if not isinstance(text, str) or not text.strip():
        problem = "has no" if fields.text not in obj else "has an empty or non-string"
        raise InputError(
            f"{where}: document '{doc_id}' {problem} '{fields.text}' field. "
            "Fix the document or name the text field with --text-field."
        )
    title = obj.get(fields.title) or ""
    if not isinstance(title, str):
        title = str(title)
    return Record(doc_id=doc_id, title=title.strip(), text=text, source=where)


def _doc_id(where: str, key: str | None, obj: dict, fields: Fields) -> str:
    if fields.id is not None:
        if fields.id not in obj:
            raise InputError(f"{where}: document has no '{fields.id}' field (set by --id-field).")
        value = obj[fields.id]
    elif key is not None:
        value = key
    else:
        found = next((name for name in ID_FIELD_CANDIDATES if name in obj), None)
        if found is None:
            raise InputError(
                f"{where}: document has no id field (looked for {', '.join(ID_FIELD_CANDIDATES)}). "
                "Name it with --id-field."
            )
        value = obj[found]
    if value is None or str(value).strip() == "":
        raise InputError(f"{where}: document has an empty id.")
    return str(value)


def _skip_space(raw: str, pos: int) -> int:
    while pos < len(raw) and raw[pos] in " \t\r\n":
        pos += 1
    return pos


def _line(raw: str, pos: int) -> int:
    return raw.count("\n", 0, pos) + 1
