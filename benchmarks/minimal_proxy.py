"""The least an HTTP proxy in Python does: each request read by uvicorn (uvloop, httptools),
sent on to the engine through one pooled aiohttp session and its answer relayed, with none of
``esrerank serve``'s own work (no routing, checks, log line or metrics). ``serve_overhead.py``
runs it beside serve and a bare TCP relay, so that serve's added time can be read against what
any Python HTTP proxy on the same stack adds.

Usage:
    python benchmarks/minimal_proxy.py http://127.0.0.1:9201 PORT
"""

from __future__ import annotations

import sys

import aiohttp
import uvicorn

HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"host"}


class MinimalProxy:
    """An ASGI app that passes every request on to ``upstream`` and streams the answer back."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.session: aiohttp.ClientSession | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":  # lifespan: nothing to set up
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        if self.session is None:
            self.session = aiohttp.ClientSession(
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            )
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            path += "?" + scope["query_string"].decode("latin-1")
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope["headers"]
            if name not in HOP_BY_HOP and name != b"content-length"  # aiohttp sets it
        ]
        async with self.session.request(
            scope["method"], self.upstream + path, headers=headers, data=body
        ) as answer:
            kept = [(n, v) for n, v in answer.raw_headers if n.lower() not in HOP_BY_HOP]
            await send({"type": "http.response.start", "status": answer.status, "headers": kept})
            async for chunk in answer.content.iter_chunked(64 * 1024):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})


def main() -> None:
    upstream, port = sys.argv[1].rstrip("/"), int(sys.argv[2])
    uvicorn.run(
        MinimalProxy(upstream),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        server_header=False,
        date_header=False,
    )


if __name__ == "__main__":
    main()
