"""JSON requests to a cluster over opensearch-py (``esrerank.backends.connection`` says why that
client), sent again with backoff where the library would not wait, and every failure turned into one
``BackendError`` that says what to do."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opensearchpy import OpenSearch, Transport, Urllib3HttpConnection
from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import ConnectionTimeout, SSLError, TransportError

from ..errors import (
    AuthenticationError,
    AuthorizationError,
    BackendError,
    ClusterUnreachableError,
    IndexExistsError,
    IndexNotFoundError,
    QueryRejectedError,
)
from .connection import Cluster, client_options
from .redaction import redact

RETRY_STATUSES = (429, 502, 503, 504)
RETRIES = 4  # a busy or gateway answer is sent again this many times
CONNECTION_RETRIES = 3  # a refused, dropped or timed-out request is sent again this many times


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt + 1``: 0.5, 1, 2, 4, then 8 at most."""
    return min(0.5 * 2**attempt, 8.0)


class RetryingTransport(Transport):
    """The library's transport, sending a request again after a busy or gateway answer, a
    refused or dropped connection, or a timeout, waiting longer each time (the library's own
    retries do not wait and skip 429). Writes are by id, so a repeat is harmless. A TLS failure
    is not retried: it fails the same way every time."""

    def perform_request(self, *args: Any, **kwargs: Any) -> Any:
        failures = 0
        for attempt in range(RETRIES + 1):
            try:
                return super().perform_request(*args, **kwargs)
            except SSLError:
                raise
            except TransportConnectionError:
                failures += 1
                if failures > CONNECTION_RETRIES:
                    raise
            except TransportError as exc:
                if exc.status_code not in RETRY_STATUSES or attempt == RETRIES:
                    raise
            time.sleep(backoff(attempt))
        raise TransportConnectionError("N/A", f"no answer after {failures} tries", None)


class _Connection(Urllib3HttpConnection):
    """The library's connection, without its warning (and traceback) for each failed request:
    every failure reaches esrerank, which reports it once, in its own words."""

    def log_request_fail(self, *args: Any, **kwargs: Any) -> None:
        pass


class HttpClient:
    """JSON requests against one cluster through a configured opensearch-py client."""

    def __init__(self, client: OpenSearch, cluster: Cluster) -> None:
        self.opensearch = client
        self.cluster = cluster
        self.url = cluster.url

    @classmethod
    def connect(cls, cluster: Cluster) -> HttpClient:
        """A client for ``cluster``: its login and TLS settings, one try per library call (the
        retries are ``RetryingTransport``'s)."""
        client = OpenSearch(
            hosts=[cluster.url],
            connection_class=_Connection,
            transport_class=RetryingTransport,
            timeout=cluster.timeout,
            max_retries=0,
            retry_on_timeout=False,
            **client_options(cluster),
        )
        return cls(client, cluster)

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
        with self.translated(method, path):
            return self.opensearch.transport.perform_request(
                method, path, body=body, params=params, headers=headers
            )

    def exists(self, path: str) -> bool:
        """``HEAD path``: True on 200, False on 404."""
        with self.translated("HEAD", path):
            return bool(self.opensearch.transport.perform_request("HEAD", path))

    @contextmanager
    def translated(self, method: str, path: str) -> Iterator[None]:
        """Turn the library's failures inside the block into esrerank's errors."""
        try:
            yield
        except SSLError as exc:
            raise self._tls_error(exc) from None
        except TransportConnectionError as exc:
            raise self._unreachable(exc) from None
        except TransportError as exc:
            payload = exc.info if isinstance(exc.info, dict) else {"error": str(exc.info)[:200]}
            status = exc.status_code if isinstance(exc.status_code, int) else 0
            self.raise_for_error(method, path, payload, status)

    def raise_for_error(self, method: str, path: str, payload: Any, status: int = 0) -> None:
        """Raise the error an answer (or one ``_msearch`` response) carries."""
        error = payload.get("error") if isinstance(payload, dict) else None
        status = status or (payload.get("status", 0) if isinstance(payload, dict) else 0)
        kind, reason = _error_parts(error)
        if status == 401:
            raise self._refused_login()
        if status == 403:
            raise self._forbidden(path, reason)
        if kind == "resource_already_exists_exception":
            raise IndexExistsError(redact(f"{method} {self.url}{path}: {reason}"))
        if kind == "index_not_found_exception":
            index = path.strip("/").split("/")[0]
            raise IndexNotFoundError(
                f"Index '{index}' not found on {self.url}: ingest a corpus into it first.",
                index=index,
            )
        message = redact(f"{method} {self.url}{path} failed with HTTP {status}: {kind}: {reason}")
        if status == 400:
            raise QueryRejectedError(message, engine_kind=kind)
        raise BackendError(message)

    def close(self) -> None:
        self.opensearch.transport.close()

    def _refused_login(self) -> AuthenticationError:
        cluster = self.cluster
        if cluster.user:
            check, settings = "check `user`/`password`", ("user", "password")
        elif cluster.api_key or cluster.bearer_token:
            settings = ("api_key",) if cluster.api_key else ("bearer_token",)
            check = f"check `{settings[0]}`"
        elif cluster.aws_region:
            check, settings = "check the AWS credentials and `aws_region`", ("aws_region",)
        else:
            check = (
                "the cluster needs credentials: set `user`/`password`, `api_key` or `bearer_token`"
            )
            settings = ("user", "password", "api_key", "bearer_token")
        return AuthenticationError(
            f"401 from {self.url} for {cluster.login}: {check}.", settings=settings
        )

    def _forbidden(self, path: str, reason: str) -> AuthorizationError:
        action = re.search(r"\[((?:indices|cluster):[^\]]+)\]", reason)
        target = path.strip("/").split("/")[0]
        on = "" if not target or target.startswith("_") else f" on index '{target}'"
        what = action.group(1) if action else path
        return AuthorizationError(
            f"403 from {self.url}: {self.cluster.login} may not run {what}{on}; ask the "
            "cluster's admin for that privilege, or log in as someone who has it."
        )

    def _tls_error(self, exc: SSLError) -> BackendError:
        text = str(exc.info or exc)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            detail = text.split("certificate verify failed:")[-1].split("(_ssl")[0].strip(" )'\"")
            return BackendError(
                f"The certificate of {self.url} is not trusted ({detail}): set `ca_certs` to the "
                "CA file that signed it, or `insecure` to skip the check.",
                settings=("ca_certs", "insecure"),
            )
        if "WRONG_VERSION_NUMBER" in text or "record layer failure" in text:
            return BackendError(
                f"{self.url} does not speak TLS: use http:// in `url`.", settings=("url",)
            )
        if "CERTIFICATE_REQUIRED" in text or "certificate required" in text:
            return BackendError(
                f"{self.url} asks for a client certificate: set `client_cert` and `client_key`.",
                settings=("client_cert", "client_key"),
            )
        if "EOF occurred" in text and self.cluster.client_cert is None:
            # TLS 1.3: a server that wants a client certificate may just close the handshake
            return BackendError(
                f"{self.url} closed the TLS handshake, as a server that asks for a client "
                "certificate does: set `client_cert` and `client_key`.",
                settings=("client_cert", "client_key"),
            )
        return BackendError(redact(f"TLS with {self.url} failed: {text[:200]}"))

    def _unreachable(self, exc: TransportConnectionError) -> ClusterUnreachableError:
        text = str(exc.info or exc)
        if isinstance(exc, ConnectionTimeout):
            reason = "timed out"
        elif "RemoteDisconnected" in text or "aborted" in text or "reset" in text:
            reason = "the connection was closed without an answer"
            if not self.cluster.tls:
                reason += "; if the cluster speaks TLS, use https:// in url"
        else:
            reason = "connection refused or host unknown"
        return ClusterUnreachableError(
            f"Cannot reach the cluster at {self.url} ({reason}, {CONNECTION_RETRIES + 1} tries). "
            "Start it or point `url` at a running one.",
            settings=("url",),
        )


def _error_parts(error: Any) -> tuple[str, str]:
    if isinstance(error, dict):
        root = (error.get("root_cause") or [error])[0]
        return str(root.get("type", "error")), str(root.get("reason", error))
    return "error", str(error)
