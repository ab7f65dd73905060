"""``esrerank serve`` in front of a fresh index of sample abstracts, for the tests that talk to
it over HTTP."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

from esrerank import Cluster, Searcher
from esrerank.serve.app import Limits, build_app
from esrerank.serve.proxy import Proxy

from .test_serve import Server


@contextlib.contextmanager
def served_index(
    backend_url: str | None,
    folder: Path,
    documents: list[dict],
    prefix: str,
    api_key: str | None = None,
    **searcher_options,
) -> Iterator[tuple[str, str, Searcher]]:
    """serve's URL, the index's name and its searcher; the index and its judgments are
    deleted afterwards."""
    corpus = folder / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(d) + "\n" for d in documents))
    index = f"{prefix}-{uuid.uuid4().hex[:8]}"
    searcher = Searcher(backend_url, index, data_dir=folder / "store", **searcher_options)
    searcher.ingest(corpus)
    searcher.warm_up()  # as esrerank serve does before it listens
    proxy = Proxy(Cluster(backend_url)) if backend_url else None
    server = Server(build_app(searcher, api_key, Limits(), proxy))
    try:
        yield server.url, index, searcher
    finally:
        server.stop()
        searcher.backend.delete_index(index)
        judged = searcher.backend.judgments(index)
        if backend_url and searcher.backend.client.exists(f"/{judged.index}"):
            searcher.backend.client.request("DELETE", f"/{judged.index}")
        searcher.close()
