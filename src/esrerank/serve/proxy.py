"""Requests esrerank does not answer itself, sent to the cluster unchanged and streamed back:
status, headers and body as the engine sent them. httpx is the async client (pooled, streaming,
TLS settings from the same ``Cluster``); the application's own credentials travel with its
requests, esrerank adds none."""

from __future__ import annotations

from urllib.parse import quote, unquote_plus

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse

from ..connection import Cluster
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
OWN_PARAMS = ("esrerank", "esrerank_explain")  # esrerank's query parameters, never forwarded
URL_SAFE = "/%!$&'()*+,;=:@~"  # kept as sent in a path; anything else is percent-encoded


class Proxy:
    def __init__(self, cluster: Cluster) -> None:
        verify: bool | str = str(cluster.ca_certs) if cluster.ca_certs else True
        if cluster.insecure:
            verify = False
        cert = (str(cluster.client_cert), str(cluster.client_key)) if cluster.client_cert else None
        self.url = cluster.url
        self.client = httpx.AsyncClient(
            base_url=cluster.url, verify=verify, cert=cert, timeout=cluster.timeout
        )

    async def forward(self, request: Request, body: bytes | None = None) -> StreamingResponse:
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length"
        ]
        content = body if body is not None else request.stream()
        try:
            outgoing = self.client.build_request(
                request.method, target(request), headers=headers, content=content
            )
        except httpx.InvalidURL as exc:
            raise bad_request(f"{request.method} {request.url.path}: {exc}") from None
        try:
            answer = await self.client.send(outgoing, stream=True)
        except httpx.TransportError as exc:
            raise RequestError(
                503,
                "cluster_unreachable_exception",
                f"cannot reach the cluster at {self.url}: {exc}",
            ) from None
        response = StreamingResponse(
            answer.aiter_raw(),
            status_code=answer.status_code,
            background=BackgroundTask(answer.aclose),
        )
        response.raw_headers = [  # every header as sent, repeated ones included
            (name, value)
            for name, value in answer.headers.raw
            if name.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        return response

    async def close(self) -> None:
        await self.client.aclose()


def target(request: Request) -> str:
    """The path and query string as the client sent them (percent-encoding kept, so the engine
    sees the same names), less esrerank's own parameters."""
    path = quote(request.scope.get("raw_path") or request.url.path.encode(), safe=URL_SAFE)
    query = [
        part
        for part in request.scope.get("query_string", b"").decode("latin-1").split("&")
        if part and unquote_plus(part.partition("=")[0]) not in OWN_PARAMS
    ]
    return path + ("?" + "&".join(query) if query else "")
