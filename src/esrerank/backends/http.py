"""A small JSON-over-HTTP client for Elasticsearch and OpenSearch.

Both engines speak the same REST dialect for what esrerank needs, and their official Python
clients each refuse the other engine (and the Elasticsearch client refuses servers of another
major version), so esrerank talks plain HTTP with ``requests`` and translates failures into
``BackendError``s at this boundary.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import requests

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


class HttpClient:
    """JSON requests against one cluster URL, sent again with backoff on 429 and 5xx gateway
    errors, and (``CONNECTION_RETRIES`` times) when the connection fails or times out."""

    def __init__(self, url: str, timeout: float = 60.0, retries: int = 4) -> None:
        self.url = checked_url(url)
        self.timeout = timeout
        self.retries = retries
        self.session = requests.Session()

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
        data, headers = None, {"Accept": "application/json"}
        if ndjson is not None:
            data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in ndjson)
            headers["Content-Type"] = "application/x-ndjson"
        elif body is not None:
            data = json.dumps(body, ensure_ascii=False)
            headers["Content-Type"] = "application/json"
        response = self._send(
            method,
            path,
            data=data.encode() if data is not None else None,
            headers=headers,
            params=params,
        )
        return self._decode(method, path, response)

    def exists(self, path: str) -> bool:
        """``HEAD path``: True on 200, False on 404."""
        response = self._send("HEAD", path)
        if response.status_code not in (200, 404):
            raise BackendError(f"HEAD {self.url}{path} failed with HTTP {response.status_code}.")
        return response.status_code == 200

    def _send(self, method: str, path: str, **options: Any) -> requests.Response:
        """One request, sent again after a busy or gateway answer, a refused or dropped
        connection, or a timeout (writes are by id, so a repeat is harmless)."""
        failures = 0
        for attempt in range(self.retries + 1):
            try:
                response = self.session.request(
                    method, self.url + path, timeout=self.timeout, **options
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                failures += 1
                if failures > CONNECTION_RETRIES:
                    raise self._unreachable(exc, failures) from exc
                time.sleep(backoff(attempt))
                continue
            except requests.RequestException as exc:
                raise self._unreachable(exc, 1) from exc
            if response.status_code not in RETRY_STATUSES or attempt == self.retries:
                return response
            time.sleep(backoff(attempt))
        raise self._unreachable(requests.ConnectionError(), failures)

    def _unreachable(self, exc: requests.RequestException, tries: int) -> ClusterUnreachableError:
        tried = f", {tries} tries" if tries > 1 else ""
        return ClusterUnreachableError(
            f"Cannot reach the cluster at {self.url} ({_reason(exc)}{tried}). Start it or "
            "point url at a running one.",
            settings=("url",),
        )

    def _decode(self, method: str, path: str, response: requests.Response) -> Any:
        try:
            payload = response.json() if response.content else {}
        except ValueError:
            payload = {"error": response.text[:200]}
        if response.status_code < 400:
            return payload
        self.raise_for_error(method, path, payload, response.status_code)

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
        self.session.close()


def _error_parts(error: Any) -> tuple[str, str]:
    if isinstance(error, dict):
        root = (error.get("root_cause") or [error])[0]
        return str(root.get("type", "error")), str(root.get("reason", error))
    return "error", str(error)


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or host unknown"
    return type(exc).__name__
