"""``esrerank serve`` in front of a fresh index of sample abstracts, for the tests that talk to
it over HTTP."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from esrerank import Cluster, Searcher, Shards
from esrerank.serve.app import Limits, build_app
from esrerank.serve.proxy import Proxy
from tests.cli import run_cli, start_cli

from .test_serve import Server

# Tokens of a pair the cross-encoder reads behind these serves: what serve does with its scores
# is under test, not how much of an abstract the model reads (a quarter of the default's cost).
SERVED_RERANK_TOKENS = 64


@contextlib.contextmanager
def served_index(
    backend_url: str | None,
    folder: Path,
    documents: list[dict],
    prefix: str,
    api_key: str | None = None,
    shards: Shards = Shards(),
    **searcher_options,
) -> Iterator[tuple[str, str, Searcher]]:
    """serve's URL, the index's name (laid out as ``shards`` says, else the default) and its
    searcher; the index and its judgments are deleted afterwards."""
    searcher_options.setdefault("rerank_max_length", SERVED_RERANK_TOKENS)
    corpus = folder / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(d) + "\n" for d in documents))
    index = f"{prefix}-{uuid.uuid4().hex[:8]}"
    searcher = Searcher(backend_url, index, data_dir=folder / "store", **searcher_options)
    searcher.ingest(corpus, shards=shards)
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_process(
    store: Path, index: str, *options: str, port: int | None = None
) -> tuple[subprocess.Popen, str]:
    """The real ``esrerank serve`` command on the embedded store's ``index``, once it answers
    /healthz: the process and its URL."""
    port = port or free_port()
    command = [sys.executable, "-m", "esrerank", "serve", "--index", index, "--port", str(port)]
    process = start_cli([*command, *options], data_dir=store)
    process.log = []  # its stderr lines (read as they come, so a busy serve never blocks on it)
    threading.Thread(target=lambda: process.log.extend(process.stderr), daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    process.wait()
    pytest.fail(f"serve did not start: {''.join(process.log)[-2000:]}")


def ingested_store(folder: Path, sample_dir: Path, index: str, documents: int) -> Path:
    """An embedded store holding ``index``: the sample's first ``documents``, ingested by the
    command line (so serve processes open it with the models they load themselves)."""
    corpus = folder / "corpus.jsonl"
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()[:documents]
    corpus.write_text("\n".join(lines) + "\n")
    result = run_cli("ingest", str(corpus), "--index", index, data_dir=folder / "store")
    assert result.returncode == 0, result.stderr
    return folder / "store"
