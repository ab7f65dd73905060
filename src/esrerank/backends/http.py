"""The connection to a cluster: JSON requests over opensearch-py's transport.

opensearch-py is the one official Python client that talks to every engine esrerank supports:
it has no product check and sends plain ``application/json``, so OpenSearch 2.19 / 3.6 and
Elasticsearch 8.19 / 9.3 all answer it (checked with opensearch-py 2.8.0 and 3.2.0: index
creation, bulk, msearch with kNN and filters, mget, count, mappings, aliases). The Elasticsearch
client refuses OpenSearch ("The client noticed that the server is not Elasticsearch", and a 406
for its ``compatible-with`` media types), and its 9.x line refuses Elasticsearch 8 ("Accept
version must be either version 8 or 7, but found 9"). opensearch-py 2.8 is used: 3.x adds
protobuf and grpcio, which esrerank does not need.
It brings connection pooling, TLS and the auth schemes; its retries do not wait between tries
and do not cover 429, so the retries with backoff stay here. Failures become ``BackendError``s
at this boundary.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from opensearchpy import OpenSearch, Urllib3HttpConnection
from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import ConnectionTimeout, TransportError

from ..errors import (
    BackendError,
    ClusterUnreachableError,
    ConfigError,
    IndexExistsError,
    IndexNotFoundError,
)

RETRY_STATUSES = (429, 502, 503, 504)
CONNECTION_RETRIES = 3  # a refused, dropped or timed-out request is sent again this many times


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt + 1``: 0.5, 1, 2, 4, then 8 at most."""
    return min(0.5 * 2**attempt, 8.0)


def checked_url(url: str) -> str:
    """``url`` without a trailing slash; a ``ConfigError`` when it is not an http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"url '{url}' is not a URL: give the cluster's address, e.g. http://localhost:9200 "
            "(or leave it empty for the embedded store).",
            settings=("url",),
        )
    return url.rstrip("/")


class _Connection(Urllib3HttpConnection):
    """The library's connection, without its warning (and traceback) for each failed request:
    every failure reaches esrerank, which reports it once, in its own words."""

    def log_request_fail(self, *args: Any, **kwargs: Any) -> None:
        pass


class HttpClient:
    """JSON requests against one cluster URL, sent again with backoff on 429 and 5xx gateway
    errors, and (``CONNECTION_RETRIES`` times) when the connection fails or times out."""

    def __init__(self, url: str, timeout: float = 60.0, retries: int = 4) -> None:
        self.url = checked_url(url)
        self.timeout = timeout
        self.retries = retries
        # One try per call: the retries (with backoff, and on 429) are this class's.
        self.transport = OpenSearch(
            hosts=[self.url],
            connection_class=_Connection,
            timeout=timeout,
            max_retries=0,
            retry_on_timeout=False,
        ).transport

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        ndjson: list[dict] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """Send a request and return the decoded JSON answer; raise on any error status."""
        headers = {"accept": "application/json"}
        if ndjson is not None:
            body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in ndjson)
            headers["content-type"] = "application/x-ndjson"
        elif body is not None:
            body = json.dumps(body, ensure_ascii=False)
        try:
            return self._send(method, path, body=body, params=params, headers=headers)
        except TransportError as exc:
            payload = exc.info if isinstance(exc.info, dict) else {"error": str(exc.info)[:200]}
            self.raise_for_error(method, path, payload, int(exc.status_code))

    def exists(self, path: str) -> bool:
        """``HEAD path``: True on 200, False on 404."""
        try:
            return bool(self._send("HEAD", path))
        except TransportError as exc:
            raise BackendError(
                f"HEAD {self.url}{path} failed with HTTP {exc.status_code}."
            ) from None

    def _send(self, method: str, path: str, **options: Any) -> Any:
        """One request, sent again after a busy or gateway answer, a refused or dropped
        connection, or a timeout (writes are by id, so a repeat is harmless)."""
        failures = 0
        for attempt in range(self.retries + 1):
            try:
                return self.transport.perform_request(method, path, **options)
            except TransportConnectionError as exc:
                failures += 1
                if failures > CONNECTION_RETRIES:
                    raise self._unreachable(exc, failures) from None
            except TransportError as exc:
                if exc.status_code not in RETRY_STATUSES or attempt == self.retries:
                    raise
            time.sleep(backoff(attempt))
        raise self._unreachable(TransportConnectionError("N/A", "gave up", None), failures)

    def _unreachable(self, exc: TransportConnectionError, tries: int) -> ClusterUnreachableError:
        tried = f", {tries} tries" if tries > 1 else ""
        return ClusterUnreachableError(
            f"Cannot reach the cluster at {self.url} ({_reason(exc)}{tried}). Start it or "
            "point url at a running one.",
            settings=("url",),
        )

    def raise_for_error(self, method: str, path: str, payload: Any, status: int = 0) -> None:
        """Raise the error an answer (or one ``_msearch`` response) carries."""
        error = payload.get("error") if isinstance(payload, dict) else None
        status = status or (payload.get("status", 0) if isinstance(payload, dict) else 0)
        kind, reason = _error_parts(error)
        if kind == "resource_already_exists_exception":
            raise IndexExistsError(f"{method} {self.url}{path}: {reason}")
        if kind == "index_not_found_exception":
            index = path.strip("/").split("/")[0]
            raise IndexNotFoundError(
                f"Index '{index}' not found on {self.url}: ingest a corpus into it first.",
                index=index,
            )
        raise BackendError(f"{method} {self.url}{path} failed with HTTP {status}: {kind}: {reason}")

    def close(self) -> None:
        self.transport.close()


def _error_parts(error: Any) -> tuple[str, str]:
    if isinstance(error, dict):
        root = (error.get("root_cause") or [error])[0]
        return str(root.get("type", "error")), str(root.get("reason", error))
    return "error", str(error)


def _reason(exc: TransportConnectionError) -> str:
    if isinstance(exc, ConnectionTimeout):
        return "timed out"
    return "connection refused or host unknown"
