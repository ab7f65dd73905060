"""serve's plain ASGI middleware: the API key check and one log line per request."""

from __future__ import annotations

import hmac
import logging
import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import Metrics
from .responses import error_response
from .workbench import page_file

log = logging.getLogger("esrerank.serve")


def open_path(path: str) -> bool:
    """Whether ``path`` is answered without the API key: the health check and the workbench
    page's own files (code without data; the calls the page makes carry the key)."""
    return path == "/healthz" or page_file(path)


class ApiKeyCheck:
    """With a key set, every request but the health check carries it (``Authorization: Bearer
    KEY`` or ``ApiKey KEY``, or ``x-api-key``), compared in constant time. Plain ASGI, as is
    ``RequestLog``: Starlette's ``BaseHTTPMiddleware`` costs a task and a stream per request."""

    def __init__(self, app: ASGIApp, api_key: str | None) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.api_key is None or open_path(scope["path"]):
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        given = headers.get("x-api-key", "")
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() in ("bearer", "apikey"):
            given = token
        if hmac.compare_digest(given.encode(), self.api_key):
            return await self.app(scope, receive, send)
        reason = "missing or wrong API key: send Authorization: Bearer KEY"
        refusal = error_response(401, "security_exception", reason, {"WWW-Authenticate": "Bearer"})
        await refusal(scope, receive, send)


class RequestLog:
    """One line per request (method, path, status, milliseconds to the last byte), counted in
    the metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            path = scope["path"]
            self.metrics.request(path, status, elapsed)
            log.info("%s %s %d %.1fms", scope["method"], path, status, elapsed * 1000)
