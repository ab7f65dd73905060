"""How the engine client meets faults: bad URLs, refused connections, items rejected as busy in
bulk writes, and search answers from only some shards. The HTTP here is real (a local server
playing an engine's recorded answers); the engines themselves are tested in tests/integration."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from esrerank import Cluster, Searcher
from esrerank.backends import IndexMeta, OpenSearchBackend, open_backend
from esrerank.backends.bulk import write
from esrerank.backends.http import HttpClient
from esrerank.backends.rest import META_KEY, partial_answer
from esrerank.errors import ClusterUnreachableError, ConfigError
from esrerank.types import Passage
from tests.recorded_engine import answers_one_search_late, recorded_engine


@pytest.fixture
def engine():
    with recorded_engine() as server:
        yield server


@pytest.mark.parametrize("url", ["not-a-url", "localhost:9200", "ftp://host", "http://"])
def test_a_url_that_is_not_one_is_named(url):
    with pytest.raises(ConfigError, match=rf"url '{url}' is not a URL"):
        open_backend(url, "unused")


def test_a_refused_connection_is_tried_again_then_one_line(monkeypatch):
    monkeypatch.setattr("esrerank.backends.http.backoff", lambda attempt: 0.0)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(ClusterUnreachableError, match=r"connection refused .*, 4 tries\)"):
            HttpClient.connect(Cluster(f"http://127.0.0.1:{port}")).request("GET", "/")


def test_bulk_items_rejected_as_busy_are_sent_again(engine, monkeypatch):
    monkeypatch.setattr("esrerank.backends.bulk.BULK_BACKOFF", 0)
    meta = IndexMeta("model", 2, 64, 16)  # the standard analyzer: BM25 tokens made by the engine
    mapping = {"idx": {"mappings": {"_meta": {META_KEY: meta.to_dict()}}}}

    def items(statuses):
        def answer(body):
            ids = [json.loads(line)["index"]["_id"] for line in body.splitlines()[::2]]
            pairs = zip(ids, statuses, strict=True)
            return {"items": [{"index": {"_id": i, "status": s}} for i, s in pairs]}

        return answer

    engine.answers = {
        "/idx/_mapping": [(200, mapping)],
        "/_bulk": [(200, items([201, 429, 429])), (200, items([429, 201])), (200, items([201]))],
    }
    passages = [Passage(f"d{i}", f"d{i}", "", f"text {i}", 0, 0, 6, "hash") for i in range(3)]
    backend = OpenSearchBackend(
        HttpClient.connect(Cluster(f"http://127.0.0.1:{engine.server_port}")), "2.19.0"
    )
    result = backend.upsert("idx", passages, np.ones((3, 2), dtype=np.float32))
    assert result.indexed == 3 and result.failures == ()
    sent = [
        [json.loads(line)["index"]["_id"] for line in body.splitlines()[::2]]
        for _, path, body in engine.seen
        if path == "/_bulk"
    ]
    assert sent == [["d0", "d1", "d2"], ["d1", "d2"], ["d1"]]


def test_items_still_busy_after_the_last_round_count_as_failed(engine, monkeypatch):
    monkeypatch.setattr("esrerank.backends.bulk.BULK_BACKOFF", 0)
    monkeypatch.setattr("esrerank.backends.bulk.BULK_RETRIES", 1)
    busy = {"items": [{"index": {"_id": "d0#0", "status": 429, "error": {"type": "busy"}}}]}
    engine.answers = {"/_bulk": [(200, busy), (200, busy)]}
    backend = OpenSearchBackend(
        HttpClient.connect(Cluster(f"http://127.0.0.1:{engine.server_port}")), "2.19.0"
    )
    result = write(backend.client, [({"index": {"_id": "d0#0"}}, {"content": "x"})])
    assert result.indexed == 0 and result.failures == (("d0#0", "busy: None"),)


def test_a_partial_search_answer_is_a_warning():
    failed = {
        "_shards": {
            "total": 5,
            "successful": 4,
            "failed": 1,
            "failures": [{"reason": {"type": "node_not_connected_exception", "reason": "gone"}}],
        },
        "timed_out": False,
    }
    assert partial_answer("opensearch", "docs", failed) == (
        "opensearch answered from 4 of 5 shards of 'docs'; 1 failed "
        "(node_not_connected_exception: gone): the hits may be incomplete."
    )
    late = {"_shards": {"total": 1, "successful": 1, "failed": 0}, "timed_out": True}
    assert partial_answer("elasticsearch", "docs", late) == (
        "elasticsearch timed out searching 'docs': the hits may be incomplete."
    )
    whole = {"_shards": {"total": 1, "successful": 1, "failed": 0}, "timed_out": False}
    assert partial_answer("elasticsearch", "docs", whole) is None


@pytest.mark.slow
def test_a_partial_answer_reaches_the_result_as_a_warning(engine):
    """A whole query through the client: the engine's timed-out answer becomes the warning of
    the result it belongs to (the command line's side: tests/integration/test_cli_errors.py)."""
    url = answers_one_search_late(engine)
    with Searcher(url, "idx") as searcher:
        result = searcher.search("vitamin D", rerank=False)
    assert result.warnings == ("opensearch timed out searching 'idx': the hits may be incomplete.",)
    assert result.to_dict()["warnings"] == list(result.warnings)
