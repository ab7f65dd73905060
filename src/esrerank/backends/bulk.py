"""Writing to an engine through opensearch-py's ``streaming_bulk``: requests bounded by count
and bytes, items the engine rejects as busy (429) sent again with backoff, and a result for
every document."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from opensearchpy.helpers import streaming_bulk

from .base import BulkResult
from .http import HttpClient

BULK_DOCS = 500
BULK_BYTES = 8 * 1024 * 1024
BULK_RETRIES = 5  # rounds of re-sending items rejected with 429 (busy)
BULK_BACKOFF = 0.5  # seconds before the first round; each next one waits twice as long, 8 at most

Action = tuple[dict, dict | None]  # the action line, and the document (None for a delete)


def bulk_results(client: HttpClient, actions: Iterable[Action]) -> Iterator[dict]:
    """The engine's result for each action (``status``, ``_id``, ``result`` or ``error``)."""
    with client.translated("POST", "/_bulk"):
        for _, item in streaming_bulk(
            client.opensearch,
            actions,
            chunk_size=BULK_DOCS,
            max_chunk_bytes=BULK_BYTES,
            expand_action_callback=lambda action: action,
            raise_on_error=False,
            max_retries=BULK_RETRIES,
            initial_backoff=BULK_BACKOFF,
            max_backoff=8,
        ):
            yield next(iter(item.values()))


def write(client: HttpClient, actions: Iterable[Action]) -> BulkResult:
    """Send ``actions``; what was stored, and ``(id, reason)`` for each document that was not."""
    indexed, failures = 0, []
    for result in bulk_results(client, actions):
        if result.get("status", 500) < 300:
            indexed += 1
        else:
            error = result.get("error", {})
            failures.append((result.get("_id", "?"), f"{error.get('type')}: {error.get('reason')}"))
    return BulkResult(indexed=indexed, failures=tuple(failures))
