"""What serve reads from a request: bodies within the size and depth caps, JSON or ``_msearch``
NDJSON, and whether a search is esrerank's to read at all."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request

from .responses import RequestError

MAX_BODY = 10 * 1024 * 1024  # bytes of one request body
MAX_DEPTH = 100  # levels of nested lists and objects in one body
STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')  # JSON strings, whose brackets do not nest
BRACKETS = re.compile(rb"[\[\]{}]")
# An index or alias name esrerank looks up itself: no list, wildcard, or character a URL would
# escape. Searches of any other name go to the engine as sent.
PLAIN_INDEX = re.compile(r"[a-z0-9][a-z0-9_.+-]*")


def opted_out(request: Request, index: str) -> bool:
    """A search the application sends to the engine as it is: ``?esrerank=off``, a Lucene
    ``q``, or an index name that is a pattern or list."""
    return (
        request.query_params.get("esrerank") == "off"
        or "q" in request.query_params
        or not PLAIN_INDEX.fullmatch(index)
    )


def readable(request: Request) -> bool:
    """Whether esrerank may read the request's body and write its answer: JSON both ways, the
    body not compressed (the engine answers the others)."""
    headers = request.headers
    if headers.get("content-encoding", "identity") != "identity":
        return False
    for name in ("content-type", "accept"):
        value = headers.get(name, "").lower()
        if value and "json" not in value and not value.startswith("*/*"):
            return False
    return True


def json_body(request: Request, raw: bytes) -> Any:
    """The JSON of a search body esrerank may read, or None: a body in another format or
    compressed, an answer asked for in another format, or a body that is not JSON (the engine
    answers those with its own errors)."""
    if not readable(request):
        return None
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def ndjson_pairs(raw: bytes) -> list[tuple[dict, Any]] | None:
    """The header and body of each ``_msearch`` item, or None when the body is not that."""
    lines = [line for line in raw.split(b"\n") if line.strip()]
    if not lines or len(lines) % 2:
        return None
    try:
        decoded = [json.loads(line) for line in lines]
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    pairs = list(zip(decoded[::2], decoded[1::2], strict=True))
    return pairs if all(isinstance(header, dict) for header, _ in pairs) else None


def item_index(header: dict, url_index: str | None) -> str | None:
    """The one plain index an ``_msearch`` item searches, or None."""
    index = header.get("index", url_index)
    if isinstance(index, list) and len(index) == 1:
        index = index[0]
    if not isinstance(index, str) or not PLAIN_INDEX.fullmatch(index):
        return None
    return index


def parse_json(raw: bytes) -> Any:
    check_body(raw)
    return decoded(raw)


def decoded(raw: bytes) -> Any:
    """The JSON in a body ``check_body`` passed."""
    try:
        return json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(400, "parse_exception", f"the body is not JSON: {exc}") from None


def check_body(raw: bytes) -> None:
    """Refuse a body over the size cap or nested too deep. Bodies sent on to the cluster are
    checked too: OpenSearch 2.19 exits on a StackOverflowError parsing one 5,000 levels deep."""
    if len(raw) > MAX_BODY:
        raise RequestError(413, "content_too_long_exception", f"body over {MAX_BODY} bytes")
    depth = deepest = 0
    for bracket in BRACKETS.findall(STRINGS.sub(b"", raw)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise RequestError(400, "parse_exception", f"the body nests deeper than {MAX_DEPTH} levels")
