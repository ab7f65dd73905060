"""The official clients as they are, pointed at ``esrerank serve``: a fresh client whose very
first request is a search esrerank answers (elasticsearch-py 8 and 9 and elasticsearch-js check
the product header on it), in Python and in JavaScript (tests/integration/js, installed by
scripts/test.sh with npm), and CORS for browser pages, off by default."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from esrerank import Cluster, Searcher
from esrerank.serve.app import Limits, build_app
from esrerank.serve.proxy import Proxy

from .conftest import require_backend
from .test_serve import Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JS = Path(__file__).parent / "js"

SEARCH = {
    "query": {"multi_match": {"query": "cancer treatment", "fields": ["title^2", "text"]}},
    "highlight": {"fields": {"text": {}}},
    "size": 3,
}


@pytest.fixture(params=["opensearch", "elasticsearch"])
def engine(request, tmp_path, sample_dir, bi_encoder, tiny_reranker):
    """serve with CORS for one origin, in front of a fresh index on one engine."""
    url = require_backend(request.param)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join((sample_dir / "corpus.jsonl").read_text().splitlines(True)[:20]))
    index = f"clients-{uuid.uuid4().hex[:8]}"
    searcher = Searcher(
        url, index, data_dir=tmp_path, bi_encoder=bi_encoder, reranker=tiny_reranker
    )
    searcher.ingest(corpus)
    searcher.warm_up()  # as esrerank serve does before it listens
    app = build_app(searcher, None, Limits(), Proxy(Cluster(url)), cors=("http://app.test",))
    server = Server(app)
    yield request.param, url, server.url, index, searcher
    server.stop()
    searcher.backend.delete_index(index)
    searcher.close()


def major(engine_url: str) -> int:
    return int(requests.get(engine_url, timeout=10).json()["version"]["number"].split(".")[0])


def clients_for(engine: str, engine_url: str):
    """The official Python clients that speak to this engine and version."""
    if engine == "opensearch":
        from opensearchpy import OpenSearch

        return [("opensearch-py", OpenSearch)]
    import elasticsearch8

    found = [("elasticsearch-py 8", elasticsearch8.Elasticsearch)]  # 9 takes 8's media type
    if major(engine_url) >= 9:
        import elasticsearch9

        found.append(("elasticsearch-py 9", elasticsearch9.Elasticsearch))
    return found


def test_a_fresh_client_whose_first_request_is_answered_by_esrerank(engine):
    name, engine_url, url, index, _ = engine
    direct = requests.post(f"{engine_url}/{index}/_search", json=SEARCH).json()
    for label, client_class in clients_for(name, engine_url):
        client = client_class(url)
        answer = (
            client.search(index=index, body=SEARCH)
            if label == "opensearch-py"
            else (client.search(index=index, **SEARCH))
        )
        answer = dict(answer)
        hits = answer["hits"]["hits"]
        assert len(hits) == 3, label
        assert set(answer) == set(direct), label
        assert all(set(hit) >= {"_index", "_id", "_score", "_source"} for hit in hits), label
        through = requests.post(f"{url}/{index}/_search", json=SEARCH)
        assert through.headers["x-esrerank-reranked"] == "true", label
        assert [h["_id"] for h in hits] == [h["_id"] for h in through.json()["hits"]["hits"]]
        client.close()


def test_the_javascript_clients_too(engine):
    name, engine_url, url, index, _ = engine
    if shutil.which("node") is None or not (JS / "node_modules").is_dir():
        message = "node or tests/integration/js/node_modules missing: run scripts/test.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    clients = ["opensearch"] if name == "opensearch" else ["es8"]
    if name == "elasticsearch" and major(engine_url) >= 9:
        clients.append("es9")
    through = requests.post(f"{url}/{index}/_search", json=SEARCH).json()
    for client in clients:
        ran = subprocess.run(
            ["node", str(JS / "search.mjs"), client, url, index, json.dumps(SEARCH)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert ran.returncode == 0, (client, ran.stdout, ran.stderr)
        answer = json.loads(ran.stdout)
        assert set(answer) == set(through), client
        assert [h["_id"] for h in answer["hits"]["hits"]] == [
            h["_id"] for h in through["hits"]["hits"]
        ], client


def test_cors_is_answered_for_the_origins_given_and_off_otherwise(engine):
    _, engine_url, url, index, searcher = engine
    preflight = requests.options(
        f"{url}/{index}/_search",
        headers={
            "Origin": "http://app.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://app.test"
    answer = requests.post(
        f"{url}/{index}/_search", json=SEARCH, headers={"Origin": "http://app.test"}
    )
    assert answer.headers["access-control-allow-origin"] == "http://app.test"
    assert "x-esrerank-reranked" in answer.headers["access-control-expose-headers"]
    other = requests.post(f"{url}/{index}/_search", json=SEARCH, headers={"Origin": "http://x.y"})
    assert "access-control-allow-origin" not in other.headers

    plain = Server(build_app(searcher, None, Limits(), Proxy(Cluster(engine_url))))
    try:
        answer = requests.post(
            f"{plain.url}/{index}/_search",
            data=json.dumps(SEARCH),
            headers={"Origin": "http://app.test", "content-type": "application/json"},
        )
        assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers
    finally:
        plain.stop()
