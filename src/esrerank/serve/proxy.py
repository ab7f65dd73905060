"""Requests esrerank does not answer itself, sent to the cluster unchanged and streamed back:
status, headers and body as the engine sent them. The application's own credentials travel with
its requests; esrerank adds none.

aiohttp is the client, not httpx: in a trial of two minimal ASGI proxies under uvicorn, side by
side on loopback (2 cores), one passed-on search took 0.84 ms more through aiohttp against 1.86
ms through httpx (whose HTTP stack is pure Python on anyio; aiohttp's parser is C). The answer is
sent as raw ASGI messages, not a Starlette ``StreamingResponse``, which starts a task group per
response on uvicorn's ASGI 2.3."""

from __future__ import annotations

import contextlib
import ssl
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus

import aiohttp
from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from yarl import URL

from ..backends.connection import Cluster
from .responses import RequestError, bad_request

# Headers that belong to one connection (RFC 9110) and are not forwarded either way.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
}
# esrerank's query parameters, never forwarded
OWN_PARAMS = frozenset({"esrerank", "esrerank_explain", "esrerank_mode"})
URL_SAFE = "/%!$&'()*+,;=:@~"  # kept as sent in a path; anything else is percent-encoded
# Headers aiohttp would add on its own: a request reaches the engine with the client's only.
NOT_ADDED = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
CHUNK = 64 * 1024


class Proxy:
    """The cluster's end of serve: one pooled aiohttp session, made in the server's event loop
    on first use."""

    def __init__(self, cluster: Cluster) -> None:
        self.url = cluster.url
        self.tls = tls_context(cluster)
        self.timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=cluster.timeout, sock_read=cluster.timeout
        )
        self.session: aiohttp.ClientSession | None = None

    def client(self) -> aiohttp.ClientSession:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self.tls),  # 100 connections at most
                timeout=self.timeout,
                auto_decompress=False,  # bytes as the engine sent them, with its Content-Encoding
                skip_auto_headers=NOT_ADDED,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self.session

    async def forward(self, request: Request, body: bytes | None = None) -> PassedOn:
        # A body read here goes as bytes (aiohttp sets its length); any other body is streamed
        # under the client's Content-Length, or chunked as the client sent it.
        streamed = body is None and any(
            name in request.headers for name in ("content-length", "transfer-encoding")
        )
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in HOP_BY_HOP and (streamed or name.lower() != "content-length")
        ]
        try:
            url = URL(self.url + target(request), encoded=True)
        except ValueError as exc:
            raise bad_request(f"{request.method} {request.url.path}: {exc}") from None
        content = request.stream() if streamed else body
        with reaching(self.url, f"{request.method} {request.url.path}"):
            try:
                answer = await self.send(request.method, url, headers, content)
            except aiohttp.ClientResponseError:
                if request.method != "HEAD":
                    raise
                # OpenSearch refuses a request line over its limit with a body even to HEAD,
                # which is not HTTP; the same request as GET has the status and headers HEAD
                # asks for (uvicorn sends no body in answer to HEAD).
                answer = await self.send("GET", url, headers, body)
        return PassedOn(answer)

    async def exchange(self, method: str, path: str, headers: list, body: bytes) -> Exchange:
        """One request of esrerank's own to the cluster (``path`` with its query string, as
        sent), its answer read whole."""
        url = URL(self.url + path, encoded=True)
        with reaching(self.url, f"{method} {path.partition('?')[0]}"):
            answer = await self.send(method, url, headers, body)
            try:
                return Exchange(answer.status, list(answer.raw_headers), await answer.read())
            finally:
                answer.release()

    async def send(self, method: str, url: URL, headers: list, content) -> aiohttp.ClientResponse:
        return await self.client().request(
            method, url, headers=headers, data=content, allow_redirects=False
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


@dataclass(frozen=True)
class Exchange:
    """An answer of the cluster, read whole."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str:
        wanted = name.lower().encode("latin-1")
        return next((v.decode("latin-1") for k, v in self.headers if k.lower() == wanted), "")


@contextlib.contextmanager
def reaching(url: str, what: str):
    """Client failures on the way to the cluster as the answers a client gets: a 503 naming
    the cluster, or a 400 for a request aiohttp will not send."""
    try:
        yield
    except aiohttp.InvalidURL as exc:
        raise bad_request(f"{what}: {exc}") from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:  # TLS errors included
        reason = str(exc) or type(exc).__name__
        raise RequestError(
            503, "cluster_unreachable_exception", f"cannot reach the cluster at {url}: {reason}"
        ) from None
    except ValueError as exc:  # a header or method aiohttp will not send
        raise bad_request(f"{what}: {exc}") from None


class PassedOn:
    """The engine's answer, relayed: an ASGI app a route may return as its response."""

    def __init__(self, answer: aiohttp.ClientResponse) -> None:
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = self.answer
        try:
            headers = [
                (name, value)
                for name, value in answer.raw_headers
                if name.decode("latin-1").lower() not in HOP_BY_HOP
            ]
            await send({"type": "http.response.start", "status": answer.status, "headers": headers})
            async for chunk in answer.content.iter_chunked(CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            answer.release()


class Relayed:
    """An answer read whole (the engine's, or one rebuilt from it), sent as it is."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = self.exchange
        headers = [
            (name, value)
            for name, value in exchange.headers
            if name.decode("latin-1").lower() not in HOP_BY_HOP | {"content-length"}
        ]
        headers.append((b"content-length", str(len(exchange.body)).encode()))
        await send({"type": "http.response.start", "status": exchange.status, "headers": headers})
        await send({"type": "http.response.body", "body": exchange.body})


def tls_context(cluster: Cluster) -> ssl.SSLContext | bool:
    """The TLS settings of ``cluster`` for aiohttp: its CA, its client certificate, or none."""
    if cluster.insecure:
        return False
    if not (cluster.ca_certs or cluster.client_cert):
        return True  # the system's CAs
    context = ssl.create_default_context(cafile=str(cluster.ca_certs) if cluster.ca_certs else None)
    if cluster.client_cert:
        context.load_cert_chain(str(cluster.client_cert), str(cluster.client_key))
    return context


def target(request: Request, leave_out: frozenset[str] = frozenset()) -> str:
    """The path and query string as the client sent them (percent-encoding kept, so the engine
    sees the same names), less esrerank's own parameters and ``leave_out``."""
    return raw_path(request) + query_string(request, leave_out)


def raw_path(request: Request) -> str:
    return quote(request.scope.get("raw_path") or request.url.path.encode(), safe=URL_SAFE)


def query_string(request: Request, leave_out: frozenset[str] = frozenset()) -> str:
    """``?`` and the client's query parameters as sent, less esrerank's and ``leave_out``."""
    query = [
        part
        for part in request.scope.get("query_string", b"").decode("latin-1").split("&")
        if part and unquote_plus(part.partition("=")[0]) not in OWN_PARAMS | leave_out
    ]
    return "?" + "&".join(query) if query else ""
