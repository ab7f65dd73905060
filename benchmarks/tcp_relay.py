"""A TCP relay that copies bytes both ways between a client and the engine and does nothing else:
the floor of putting any process in front of a cluster on this machine. ``serve_overhead.py``
runs it beside ``esrerank serve`` so that serve's added time can be read against that floor.

asyncio on uvloop (serve's event loop), each connection relayed to one of its own to the engine.

Usage:
    python benchmarks/tcp_relay.py http://127.0.0.1:9201 PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from urllib.parse import urlsplit

import uvloop


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


async def relay(host: str, port: int, listen: int) -> None:
    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_server(connected, "127.0.0.1", listen)
    await server.serve_forever()


def main() -> None:
    upstream, listen = sys.argv[1], int(sys.argv[2])
    parts = urlsplit(upstream)
    uvloop.run(relay(parts.hostname, parts.port or 80, listen))


if __name__ == "__main__":
    main()
