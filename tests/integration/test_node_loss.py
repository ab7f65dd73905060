"""A data node of a three-node cluster killed (SIGKILL) during an ingest, an attach and a stream
of searches through serve, on OpenSearch and Elasticsearch, each index with 3 primaries and 1
replica: an ingest or attach finishes on the replicas or ends in one line, a run again stores
exactly what a clean one does, serve never answers 500, and the cluster is green again once the
node is back.

These run with ``ESRERANK_TEST_CLUSTERS=1`` against the clusters ``scripts/engines.sh start
opensearch-cluster elasticsearch-cluster`` runs (docs/testing.md); the node killed is the third
(the client talks to the first)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests

from esrerank import Cluster, Searcher, Shards
from esrerank.backends import open_backend
from esrerank.serve.app import Limits, build_app
from esrerank.serve.proxy import Proxy
from tests.cli import run_cli, start_cli

from .conftest import require_backend
from .test_attach import app_documents, attach, counted, current, start_attach, vectors
from .test_crash import ROOT, count, stored
from .test_serve import Server

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("ESRERANK_TEST_CLUSTERS") != "1",
        reason="needs the three-node clusters and ESRERANK_TEST_CLUSTERS=1 (docs/testing.md)",
    ),
]

SPREAD = ("--shards", "3", "--replicas", "1")
VICTIM = "3"  # the node killed


def node(action: str, engine: str) -> None:
    """``scripts/engines.sh kill-node|start-node ENGINE-cluster 3``."""
    command = [str(ROOT / "scripts" / "engines.sh"), f"{action}-node", f"{engine}-cluster", VICTIM]
    subprocess.run(command, check=True, capture_output=True, timeout=600)


def seconds_to_green(url: str) -> float:
    started = time.monotonic()
    health = requests.get(
        f"{url}/_cluster/health",
        params={"wait_for_status": "green", "timeout": "180s"},
        timeout=200,
    ).json()
    assert health["status"] == "green", health
    return time.monotonic() - started


@pytest.fixture(params=["opensearch", "elasticsearch"])
def cluster(request):
    """The cluster's URL and engine; the killed node is started again whatever the test did."""
    url = require_backend(request.param)
    nodes = requests.get(f"{url}/_cluster/health", timeout=10).json()["number_of_nodes"]
    assert nodes == 3, f"{url} has {nodes} nodes: start scripts/engines.sh' cluster engines"
    yield url, request.param
    if requests.get(f"{url}/_cluster/health", timeout=10).json()["number_of_nodes"] < 3:
        node("start", request.param)


def ended_in_one_line(process) -> None:
    """The run finished, or ended with exit 1 and one ``error:`` line, never a traceback."""
    _, stderr = process.communicate(timeout=600)
    assert "Traceback" not in stderr, stderr
    if process.returncode != 0:
        assert process.returncode == 1, stderr
        assert stderr.strip().splitlines()[-1].startswith("error: "), stderr


def test_a_node_killed_mid_ingest_loses_and_doubles_nothing(cluster, tmp_path, sample_dir):
    from .test_crash import DOCUMENTS

    url, engine = cluster
    corpus = tmp_path / "corpus.jsonl"
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()[:DOCUMENTS]
    corpus.write_text("\n".join(lines) + "\n")
    clean = run_cli("ingest", str(corpus), "--index", "clean", data_dir=tmp_path / "clean")
    assert clean.returncode == 0, clean.stderr
    expected = stored(open_backend(None, tmp_path / "clean"), "clean")
    index = f"loss-{uuid.uuid4().hex[:8]}"
    backend = open_backend(url, tmp_path)
    command = [sys.executable, "-m", "esrerank", "ingest", str(corpus), "--index", index, *SPREAD]
    try:
        ingest = start_cli(command, data_dir=tmp_path / "store", ESRERANK_URL=url)
        deadline = time.monotonic() + 300
        while ingest.poll() is None and count(backend, index) <= 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        node("kill", engine)
        ended_in_one_line(ingest)
        node("start", engine)
        assert seconds_to_green(url) < 180
        again = run_cli(
            "ingest", str(corpus), "--index", index, data_dir=tmp_path / "store", ESRERANK_URL=url
        )
        assert again.returncode == 0, again.stderr
        assert stored(backend, index) == expected
    finally:
        backend.delete_index(index)


def test_a_node_killed_mid_attach_leaves_one_current_vector_each(
    cluster, tmp_path, sample_dir, bi_encoder
):
    url, engine = cluster
    backend = open_backend(url, tmp_path)
    index = f"products-{uuid.uuid4().hex[:8]}"
    settings = {"number_of_shards": 3, "number_of_replicas": 1}
    if engine == "opensearch":
        settings["knn"] = True
    backend.client.request(
        "PUT",
        f"/{index}",
        {
            "settings": {"index": settings},
            "mappings": {"properties": {"name": {"type": "text"}, "body": {"type": "text"}}},
        },
    )
    try:
        lines = []
        for doc_id, source in app_documents(sample_dir, 300):
            lines += [{"index": {"_index": index, "_id": doc_id}}, source]
        backend.client.request("POST", "/_bulk", ndjson=lines, params={"refresh": "true"})
        running = start_attach(url, index, tmp_path)
        deadline = time.monotonic() + 300
        while running.poll() is None and time.monotonic() < deadline:
            backend.refresh(index)
            if backend.count(index, {"exists": {"field": "esrerank_hash"}}) > 0:
                break
            time.sleep(0.05)
        node("kill", engine)
        ended_in_one_line(running)
        node("start", engine)
        assert seconds_to_green(url) < 180
        again = attach(url, index, tmp_path)
        assert again.returncode == 0, again.stderr
        assert len(vectors(backend, index)) == 300 and current(backend, index, bi_encoder)
        counted(attach(url, index, tmp_path), documents=300, embedded=0, unchanged=300)
    finally:
        backend.delete_index(index)


def test_searches_through_serve_while_a_node_dies_never_get_a_500(
    cluster, tmp_path, sample_dir, bi_encoder, tiny_reranker
):
    url, engine = cluster
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join((sample_dir / "corpus.jsonl").read_text().splitlines()[:60]))
    index = f"served-{uuid.uuid4().hex[:8]}"
    searcher = Searcher(
        url, index, data_dir=tmp_path / "store", bi_encoder=bi_encoder, reranker=tiny_reranker
    )
    searcher.ingest(corpus, shards=Shards(3, 1))
    searcher.warm_up()
    assert seconds_to_green(url) < 180
    server = Server(build_app(searcher, None, Limits(), Proxy(Cluster(url))))
    answers: list[tuple[int, dict]] = []
    stop = threading.Event()

    def search_on() -> None:
        body = {"query": {"match": {"text": "cancer risk"}}, "size": 5}
        while not stop.is_set():
            response = requests.post(f"{server.url}/{index}/_search", json=body, timeout=120)
            answers.append((response.status_code, response.json()))

    client = threading.Thread(target=search_on)
    client.start()
    try:
        time.sleep(2)
        node("kill", engine)
        time.sleep(15)  # searches go on while the replicas take over
        node("start", engine)
        seconds_to_green(url)
        time.sleep(2)
    finally:
        stop.set()
        client.join(timeout=180)
        server.stop()
        searcher.backend.delete_index(index)
        searcher.close()
    statuses = [status for status, _ in answers]
    assert len(answers) > 10 and 500 not in statuses, statuses
    for status, body in answers:
        if status == 200:
            assert len(body["hits"]["hits"]) == 5 or body["_shards"]["failed"] > 0, body
        else:  # the engine's own refusal, passed on in its shape
            assert status in (429, 503) and "error" in body, body
