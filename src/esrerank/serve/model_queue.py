"""The models' bounded queues: how much serve takes on before it refuses (429)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .responses import RequestError


@dataclass
class Limits:
    """How much the server takes on: requests waiting for the cross-encoder beyond the one it
    runs (more get 429), and the seconds one rerank may take."""

    rerank_queue: int = 16
    rerank_timeout: float | None = None


class ModelQueue:
    """Model calls run one at a time on one thread of their own, at most ``limit`` waiting; a
    request beyond that is refused at once (429), so memory stays bounded however many clients
    call. One thread, not a pool: an OpenVINO model keeps an infer request, with buffers sized
    to the largest batch it has seen, per thread that runs it; and a call whose client went away
    still finishes before the next one starts. The server keeps one queue for the bi-encoder
    and one for the cross-encoder, so embedding a query never waits behind another search's
    rerank."""

    def __init__(self, limit: int, name: str) -> None:
        self.limit = limit
        self.waiting = 0
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"esrerank-{name}")

    async def run(self, work, *args):
        if self.waiting >= self.limit:
            raise RequestError(
                429, "rejected_execution_exception", f"the model queue is full ({self.limit})"
            )
        self.waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.thread, work, *args)
        finally:
            self.waiting -= 1
