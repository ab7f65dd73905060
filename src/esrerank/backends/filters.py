"""Filters: query DSL filter clauses that every leg of a search applies.

A filter is one clause or a list of clauses, all of which a passage must match, written as the
engines' query DSL (``{"term": {"category": "news"}}``, ``{"range": {"year": {"gte": 2020}}}``).
OpenSearch and Elasticsearch run them as they are, in the BM25 query's ``bool.filter`` and in
the kNN search's own ``filter``. The embedded store evaluates ``term``, ``terms``, ``range``,
``exists``, ``match_all`` and ``bool`` (``filter``/``must``/``should``/``must_not``) on stored
fields the way the engines treat keyword, numeric and date fields (here ``matches``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InputError

Filter = Sequence[Mapping[str, Any]]  # clauses, all of which a passage must match

EMBEDDED_CLAUSES = ("term", "terms", "range", "exists", "match_all", "bool")
RANGE_BOUNDS = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}
_EXAMPLE = '{"term": {"category": "news"}}'


def filter_clauses(filter: Any) -> tuple[dict[str, Any], ...]:
    """``filter`` (``None``, one clause, or a list of clauses) as a tuple of clauses, each an
    object with one query type; anything else is an ``InputError`` saying what a clause is."""
    if filter is None:
        return ()
    clauses = [filter] if isinstance(filter, Mapping) else filter
    if not isinstance(clauses, Sequence) or isinstance(clauses, str):
        raise InputError(
            f"A filter is a query clause such as {_EXAMPLE}, or a list of them; "
            f"got {type(filter).__name__}.",
        )
    for clause in clauses:
        _check_clause(clause)
    return tuple(dict(clause) for clause in clauses)


def _check_clause(clause: Any) -> None:
    if not isinstance(clause, Mapping) or len(clause) != 1:
        raise InputError(
            f"Each filter clause is an object with one query type, such as {_EXAMPLE}; "
            f"got {str(clause)[:120]}.",
        )


def matches(clauses: Filter, document: Mapping[str, Any]) -> bool:
    """Whether ``document`` (a stored passage's fields) matches every clause."""
    return all(_matches(clause, document) for clause in clauses)


def check_embedded(clauses: Filter) -> None:
    """Refuse, before searching, a clause the embedded store cannot evaluate."""
    for clause in clauses:
        _check_clause(clause)
        kind, body = next(iter(clause.items()))
        if kind not in EMBEDDED_CLAUSES:
            raise InputError(
                f"Filter clause '{kind}' is not supported by the embedded store: use "
                f"{', '.join(EMBEDDED_CLAUSES)} (OpenSearch and Elasticsearch take any).",
            )
        if kind == "bool":
            for part in ("filter", "must", "should", "must_not"):
                check_embedded(_as_list(body.get(part)))
        elif kind != "match_all" and not (isinstance(body, Mapping) and body):
            raise InputError(
                f"Filter clause '{kind}' needs a field and a value, such as {_EXAMPLE}; "
                f"got {str(clause)[:120]}.",
            )


def _matches(clause: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
    kind, body = next(iter(clause.items()))
    if kind == "match_all":
        return True
    if kind == "bool":
        return _bool(body, document)
    if kind == "exists":
        return bool(_values(document, body["field"]))
    field, condition = next(iter(body.items()))
    values = _values(document, field)
    if kind == "term":
        wanted = condition["value"] if isinstance(condition, Mapping) else condition
        return any(_equal(value, wanted) for value in values)
    if kind == "terms":
        return any(_equal(value, wanted) for value in values for wanted in condition)
    return any(_in_range(value, condition) for value in values)  # range


def _bool(body: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
    required = _as_list(body.get("filter")) + _as_list(body.get("must"))
    should = _as_list(body.get("should"))
    if not all(_matches(c, document) for c in required):
        return False
    if any(_matches(c, document) for c in _as_list(body.get("must_not"))):
        return False
    # As the engines: with no must/filter, at least one should clause has to match.
    minimum = int(body.get("minimum_should_match", 0 if required else 1 if should else 0))
    return sum(_matches(c, document) for c in should) >= minimum


def _as_list(value: Any) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _values(document: Mapping[str, Any], field: str) -> list[Any]:
    """The values of ``field`` (dotted for objects); a list field gives each element."""
    found: list[Any] = [document]
    for part in field.split("."):
        found = [
            item[part]
            for value in found
            for item in (value if isinstance(value, list) else [value])
            if isinstance(item, Mapping) and part in item
        ]
    flat = [item for value in found for item in (value if isinstance(value, list) else [value])]
    return [value for value in flat if value is not None]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _keyword(value: Any) -> str:
    """A value as a keyword field holds it (``true``, not ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _equal(stored: Any, wanted: Any) -> bool:
    """Equality as the engines see it: numerically when the stored value is a number (a
    numeric field parses the query's value), else as keywords."""
    if isinstance(stored, int | float) and not isinstance(stored, bool):
        return _number(wanted) == float(stored)
    return _keyword(stored) == _keyword(wanted)


def _in_range(stored: Any, bounds: Mapping[str, Any]) -> bool:
    number = _number(stored) if not isinstance(stored, str) else None
    for name, compare in RANGE_BOUNDS.items():
        if name not in bounds:
            continue
        limit = bounds[name]
        if number is not None:
            limit_number = _number(limit)
            if limit_number is None or not compare(number, limit_number):
                return False
        elif not compare(_keyword(stored), _keyword(limit)):  # keywords and ISO dates
            return False
    return True
