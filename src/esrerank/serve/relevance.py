"""Which of an application's searches esrerank answers, read from its own request: one ranked by
relevance whose query holds a full-text clause over text the index embeds. The request itself
stays as the application wrote it (it is the lexical leg); this module reads from it only the
text for the dense leg, the filters that leg must honour, and the page asked for.

Anything else (a sort on a field, ``search_after``, scroll, a point in time, ``knn`` /
``rank`` / ``retriever`` bodies, ``collapse`` with ``inner_hits``, ``size: 0``, no full-text
clause, a body or a
parameter esrerank does not read) is the engine's to answer, untouched."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Any

FULL_TEXT = frozenset(
    {
        "match",
        "match_phrase",
        "match_phrase_prefix",
        "match_bool_prefix",
        "multi_match",
        "combined_fields",
        "query_string",
        "simple_query_string",
    }
)
# Body keys whose order or paging is the engine's (or a search pipeline's) own.
ENGINE_ORDERED = frozenset(
    {"search_after", "pit", "knn", "rank", "retriever", "slice", "ext", "sub_searches"}
)
# Queries that rank by vectors, pinned ids or rules of their own: reordering would undo them.
ENGINE_QUERIES = frozenset(
    {
        "knn",
        "neural",
        "neural_sparse",
        "hybrid",
        "semantic",
        "sparse_vector",
        "text_expansion",
        "weighted_tokens",
        "pinned",
        "rule",
        "rule_query",
    }
)
# URL parameters that make a search the engine's: a Lucene query string, a scroll, a field
# sort, a search pipeline, a format other than JSON.
ENGINE_PARAMS = frozenset({"q", "scroll", "sort", "search_pipeline", "format", "search_after"})
MAX_WINDOW = 1000  # from + size of an answered search; deeper pages are the engine's
# Characters of the dense leg's query text: the bi-encoder reads a few hundred tokens at most.
MAX_TEXT = 4096
# Lucene query syntax left out of the dense leg's text: field prefixes, operators, boosts,
# fuzziness, wildcards, grouping.
QUERY_SYNTAX = re.compile(r"\b[\w.]+:|\b(?:AND|OR|NOT)\b|[~^]\d*(?:\.\d+)?|[+\-!(){}\[\]\"*?|&\\/]")
SCORE_SORTS = ("_score", {"_score": "desc"}, {"_score": {"order": "desc"}})


@dataclass(frozen=True)
class RelevanceSearch:
    """What esrerank reads from an answered search: the dense leg's text and filters, the page,
    and whether hits explain their scores."""

    text: str
    filters: tuple[dict, ...]
    start: int
    size: int
    explain: bool = False
    collapse: str | None = None  # the field whose values the final order keeps one hit of

    @property
    def window(self) -> int:
        """How many hits each leg brings: the rerank pool, or the page when it ends deeper."""
        return max(100, self.start + self.size)

    def widened(self, body: dict) -> dict:
        """The application's ``body`` asking for the whole window: the lexical leg."""
        return {**body, "from": 0, "size": self.window}


def relevance_search(
    body: Any, params: dict[str, str], text_fields: frozenset[str] | None
) -> RelevanceSearch | None:
    """The search esrerank answers for ``body`` sent with URL ``params`` to an index whose text
    is in ``text_fields`` (None: any field, for a first look before the index is read), or
    None when the engine answers it as sent."""
    if body is None:
        body = {}
    if not isinstance(body, dict) or ENGINE_ORDERED & set(body) or ENGINE_PARAMS & set(params):
        return None
    if "sort" in body and not score_sort(body["sort"]):
        return None
    collapse = body.get("collapse")
    if collapse is not None and not (
        isinstance(collapse, dict)
        and set(collapse) == {"field"}
        and isinstance(collapse["field"], str)
    ):
        return None  # inner hits and the like: the engine's
    stored = listed(body.get("stored_fields")) + params.get("stored_fields", "").split(",")
    if "_none_" in stored:  # hits without an _id: nothing to reorder them by
        return None
    start, size = page(body, params)
    if start is None or size is None or size == 0 or start + size > MAX_WINDOW:
        return None
    texts: list[str] = []
    filters: list[dict] = []
    if not read_query(body.get("query"), True, text_fields, texts, filters):
        return None
    texts = [t for t in dict.fromkeys(texts) if t]
    if not texts:
        return None
    post_filter = body.get("post_filter")
    if isinstance(post_filter, dict) and post_filter:
        filters.append(post_filter)
    explain = body.get("explain") is True or params.get("explain") in ("", "true")
    return RelevanceSearch(
        " ".join(texts)[:MAX_TEXT],
        tuple(filters),
        start,
        size,
        explain,
        collapse["field"] if collapse else None,
    )


def score_sort(sort: Any) -> bool:
    """Whether ``sort`` orders by relevance alone."""
    items = sort if isinstance(sort, list) else [sort]
    return bool(items) and all(item in SCORE_SORTS for item in items)


def page(body: dict, params: dict[str, str]) -> tuple[int | None, int | None]:
    """``from`` and ``size``, the URL's over the body's as the engines take them; None for a
    value that is not a non-negative integer (the engine answers it with its own error)."""

    def number(name: str, default: int) -> int | None:
        value: Any = params[name] if name in params else body.get(name, default)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return None
        return value

    return number("from", 0), number("size", 10)


def read_query(
    query: Any, required: bool, text_fields: frozenset[str] | None, texts: list[str], filters: list
) -> bool:
    """Collect the texts of ``query``'s full-text clauses over ``text_fields`` into ``texts``
    and, where ``required`` (every hit matches the clause there), its other clauses into
    ``filters``. False when the query ranks in a way esrerank must not undo, or is not one."""
    if query is None:
        return True
    if not isinstance(query, dict) or len(query) != 1:
        return False
    kind, clause = next(iter(query.items()))
    if kind in ENGINE_QUERIES:
        return False
    if not isinstance(clause, dict):
        return False
    if kind in FULL_TEXT:
        text = clause_text(kind, clause, text_fields)
        if text is not None:
            texts.append(text)
        elif required:
            filters.append(query)  # a full-text clause on another field: it filters
        return True
    if kind == "bool":
        return read_bool(clause, required, text_fields, texts, filters)
    if kind == "dis_max":
        return all(
            read_query(q, False, text_fields, texts, filters) for q in listed(clause.get("queries"))
        )
    if kind == "function_score" or kind == "script_score":
        return read_query(clause.get("query"), required, text_fields, texts, filters)
    if kind == "boosting":
        return read_query(clause.get("positive"), required, text_fields, texts, filters)
    if required:
        filters.append(query)  # a term, range, exists, ... every hit matches
    return True


def read_bool(
    clause: dict,
    required: bool,
    text_fields: frozenset[str] | None,
    texts: list[str],
    filters: list,
) -> bool:
    for item in listed(clause.get("must")):
        if not read_query(item, required, text_fields, texts, filters):
            return False
    for item in listed(clause.get("should")):
        if not read_query(item, False, text_fields, texts, filters):
            return False
    if required:
        filters += [item for item in listed(clause.get("filter")) if isinstance(item, dict)]
        excluded = [item for item in listed(clause.get("must_not")) if isinstance(item, dict)]
        if excluded:
            filters.append({"bool": {"must_not": excluded}})
    return True


def clause_text(kind: str, clause: dict, text_fields: frozenset[str] | None) -> str | None:
    """The text a full-text clause searches ``text_fields`` for, else None."""
    if kind.startswith("match"):
        if len(clause) != 1:
            return None
        field, value = next(iter(clause.items()))
        text = value.get("query") if isinstance(value, dict) else value
        fields: list = [field]
    else:
        text = clause.get("query")
        fields = clause.get("fields") or [clause.get("default_field", "*")]
    if not isinstance(text, str) or not any(embeds(f, text_fields) for f in fields):
        return None
    if kind in ("query_string", "simple_query_string"):
        text = QUERY_SYNTAX.sub(" ", text)
    return " ".join(text.split())


def embeds(field: Any, text_fields: frozenset[str] | None) -> bool:
    """Whether a clause's ``field`` (``title^3``, ``title.english``, ``ti*``, ``*``) names text
    the index embeds (any field, when ``text_fields`` is None: not known yet)."""
    if not isinstance(field, str):
        return False
    if text_fields is None:
        return True
    name = field.split("^")[0]
    return any(
        fnmatch(text, name) or name.split(".")[0] == text or name == text for text in text_fields
    )


def listed(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
