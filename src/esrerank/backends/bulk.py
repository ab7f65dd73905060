"""Writing passages to an engine through ``_bulk``: requests bounded by count and bytes, and
items the engine rejects as busy sent again."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from .base import BulkResult
from .http import HttpClient, backoff

BULK_DOCS = 500
BULK_BYTES = 8 * 1024 * 1024
BULK_RETRIES = 5  # rounds of re-sending items rejected with 429 (busy)

Action = tuple[dict, dict]  # the action line and the document


def send_bulk(client: HttpClient, actions: list[Action]) -> BulkResult:
    """One ``_bulk`` request; items the engine rejects as busy (429) are sent again with
    backoff, up to ``BULK_RETRIES`` times, before they count as failed."""
    indexed, failures = 0, []
    for attempt in range(BULK_RETRIES + 1):
        answer = client.request("POST", "/_bulk", ndjson=[line for a in actions for line in a])
        busy = []
        for action, item in zip(actions, answer.get("items", []), strict=True):
            result = next(iter(item.values()))
            status = result.get("status", 500)
            if status < 300:
                indexed += 1
            elif status == 429 and attempt < BULK_RETRIES:
                busy.append(action)
            else:
                error = result.get("error", {})
                failures.append(
                    (result.get("_id", "?"), f"{error.get('type')}: {error.get('reason')}")
                )
        if not busy:
            break
        actions = busy
        time.sleep(backoff(attempt))
    return BulkResult(indexed=indexed, failures=tuple(failures))


def bulk_chunks(actions: list[Action]) -> Iterator[list[Action]]:
    """``actions`` in requests of at most ``BULK_DOCS`` documents and about ``BULK_BYTES``."""
    chunk: list[Action] = []
    size = 0
    for action in actions:
        action_size = len(json.dumps(action[1]))
        if chunk and (len(chunk) >= BULK_DOCS or size + action_size > BULK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(action)
        size += action_size
    if chunk:
        yield chunk
