"""Readers for queries (JSONL ``{"_id", "text"}``) and qrels (TSV ``query-id corpus-id score``)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .jsonstream import json_lines, valid_unicode


def read_queries(path: str | Path) -> dict[str, str]:
    """``{query id: text}`` from a BEIR-style queries.jsonl."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Queries file '{path}' not found. Check the path.")
    queries: dict[str, str] = {}
    for number, obj in json_lines(path):
        if not isinstance(obj, dict) or "_id" not in obj or not str(obj.get("text", "")).strip():
            raise InputError(f"{path}:{number}: a query needs '_id' and a non-empty 'text'.")
        queries[valid_unicode(str(obj["_id"]))] = valid_unicode(str(obj["text"]))
    if not queries:
        raise InputError(f"{path}: no queries.")
    return queries


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """``{query id: {doc id: relevance}}`` from a TSV with a header row."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Qrels file '{path}' not found. Check the path.")
    qrels: dict[str, dict[str, int]] = {}
    lines = path.read_text(encoding="utf-8-sig").split("\n")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3 or not parts[2].strip().lstrip("-").isdigit():
            raise InputError(
                f"{path}:{number}: expected 'query-id<TAB>corpus-id<TAB>integer score'."
            )
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    if not qrels:
        raise InputError(f"{path}: no judgements.")
    return qrels
