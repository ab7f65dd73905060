"""Which ``_search`` bodies esrerank answers itself on the embedded store, which has no engine
to run an application's request (on a cluster, ``esrerank.serve.relevance`` decides): a
full-text query over the index's text (``match``, ``multi_match``, ``query_string``,
``simple_query_string``, or a ``bool`` holding one of them in ``must`` / ``should`` beside
``filter`` / ``must_not`` clauses), with only paging, ``_source`` and ``track_total_hits``
around it. Anything else is refused there."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .responses import bad_request

FULL_TEXT = ("match", "multi_match", "query_string", "simple_query_string")
# Body keys a rewritten search honours; any other key sends the request to the engine.
HONOURED = {"query", "from", "size", "_source", "track_total_hits", "timeout"}
MAX_WINDOW = 1000  # from + size of one rewritten search
# Characters of one query text: the cross-encoder reads 512 tokens at most, and every word is a
# BM25 clause, so a longer text costs much and adds nothing.
MAX_QUERY = 4096


@dataclass(frozen=True)
class HybridSearch:
    """The text to search, the clauses every hit must match, and the page asked for."""

    text: str
    filters: tuple[dict, ...]
    start: int
    size: int
    source: Any = True
    track_total_hits: Any = True


def may_be_hybrid(body: Any) -> bool:
    """Whether ``body`` has the shape of a search esrerank answers, whatever the index's text
    fields: anything else goes to the engine without a look at the index."""
    if not isinstance(body, dict) or not set(body) <= HONOURED:
        return False
    return _query(body.get("query")) is not None


def hybrid_search(body: Any, text_fields: frozenset[str]) -> HybridSearch | None:
    """The hybrid search a ``_search`` body asks for, or None when it is not one esrerank
    answers (the engine answers it). Paging out of range is a 400."""
    if not isinstance(body, dict) or not set(body) <= HONOURED:
        return None
    parsed = _query(body.get("query"), text_fields)
    if parsed is None:
        return None
    text, filters = parsed
    if len(text) > MAX_QUERY:
        raise bad_request(
            f"the query text is {len(text)} characters long; esrerank answers at most "
            f"{MAX_QUERY} (add ?esrerank=off for the engine's own answer)"
        )
    start, size = body.get("from", 0), body.get("size", 10)
    for name, value in (("from", start), ("size", size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise bad_request(f"[{name}] must be a non-negative integer, got {value!r}")
    if start + size > MAX_WINDOW:
        raise bad_request(
            f"Result window is too large, from + size must be less than or equal to: "
            f"[{MAX_WINDOW}] but was [{start + size}]"
        )
    source = body.get("_source", True)
    if not _is_source_filter(source):
        raise bad_request(
            f"[_source] must be true, false, a pattern, a list of patterns or "
            f"{{includes, excludes}} of them, got {json.dumps(source)[:200]}"
        )
    return HybridSearch(text, filters, start, size, source, body.get("track_total_hits", True))


def _is_source_filter(spec: Any) -> bool:
    def patterns(value: Any) -> bool:
        return isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        )

    if isinstance(spec, bool) or spec is None:
        return True
    if isinstance(spec, dict):
        return set(spec) <= {"includes", "excludes"} and all(map(patterns, spec.values()))
    return patterns(spec)


def _query(
    query: Any, text_fields: frozenset[str] | None = None
) -> tuple[str, tuple[dict, ...]] | None:
    """The text and filters of a query esrerank answers on ``text_fields`` (None: any)."""
    if not isinstance(query, dict) or len(query) != 1:
        return None
    kind, clause = next(iter(query.items()))
    if kind in FULL_TEXT:
        text = _full_text(kind, clause, text_fields)
        return None if text is None else (text, ())
    if kind == "bool" and isinstance(clause, dict):
        return _bool(clause, text_fields)
    return None


def _bool(clause: dict, text_fields: frozenset[str] | None) -> tuple[str, tuple[dict, ...]] | None:
    """One full-text clause in ``must`` or ``should``; every other ``must`` and ``filter``
    clause filters, ``must_not`` excludes."""
    if not set(clause) <= {"must", "should", "filter", "must_not", "boost"}:
        return None
    texts, filters = [], []
    for occur in ("must", "should"):
        for item in _listed(clause.get(occur)):
            found = _query(item, text_fields) if _is_full_text(item) else None
            if found is not None:
                texts.append(found[0])
            elif occur == "must" and isinstance(item, dict):
                filters.append(item)
            else:
                return None  # a scoring should clause esrerank would drop
    if len(texts) != 1:
        return None
    filters += [item for item in _listed(clause.get("filter")) if isinstance(item, dict)]
    excluded = [item for item in _listed(clause.get("must_not")) if isinstance(item, dict)]
    if excluded:
        filters.append({"bool": {"must_not": excluded}})
    return texts[0], tuple(filters)


def _is_full_text(item: Any) -> bool:
    return isinstance(item, dict) and len(item) == 1 and next(iter(item)) in FULL_TEXT


def _listed(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _full_text(kind: str, clause: Any, text_fields: frozenset[str] | None) -> str | None:
    """The text of a full-text clause over the index's text fields, else None."""
    if not isinstance(clause, dict):
        return None
    if kind == "match":
        if len(clause) != 1:
            return None
        field, value = next(iter(clause.items()))
        text = value.get("query") if isinstance(value, dict) else value
        fields = [field]
    else:
        text = clause.get("query")
        fields = clause.get("fields") or [clause.get("default_field", "*")]
    names = {str(f).split("^")[0] for f in fields}
    if not isinstance(text, str):
        return None
    if text_fields is not None and not names <= text_fields | {"*"}:
        return None
    return text
