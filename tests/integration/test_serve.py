"""``esrerank serve`` over real HTTP: the rerank and embed APIs, errors in the engines' shape,
the API key, the bounded model queue and the rerank timeout. The server is the real ASGI app on
uvicorn, on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests
import uvicorn

from esrerank import Searcher
from esrerank.serve.app import Limits, build_app
from tests.cli import run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUERY = "the quick fox"
DOCUMENTS = ["tax law in Belgium", "the quick brown fox", "a lazy dog", "protein folding"]


class Server:
    """The app served by uvicorn in a thread until ``stop``."""

    def __init__(self, app) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def searcher(tmp_path_factory, bi_encoder, tiny_reranker):
    folder = tmp_path_factory.mktemp("serve")
    with Searcher(
        None, "served", data_dir=folder, bi_encoder=bi_encoder, reranker=tiny_reranker
    ) as instance:
        instance.warm_up()
        yield instance


@pytest.fixture
def serve(searcher):
    running = []

    def start(api_key=None, limits=None):
        running.append(Server(build_app(searcher, api_key, limits or Limits())))
        return running[-1].url

    yield start
    for server in running:
        server.stop()


def expected_order(searcher) -> list[int]:
    scores = searcher.models.reranker(searcher.pipeline.reranker_choice).score(QUERY, DOCUMENTS)
    return sorted(range(len(DOCUMENTS)), key=lambda i: (-scores.scores[i], i))


def test_cohere_and_tei_rerank_and_embed(serve, searcher):
    url = serve()
    order = expected_order(searcher)
    v1 = requests.post(f"{url}/v1/rerank", json={"query": QUERY, "documents": DOCUMENTS})
    assert v1.status_code == 200, v1.text
    results = v1.json()["results"]
    assert [r["index"] for r in results] == order
    assert all(isinstance(r["relevance_score"], float) for r in results)
    assert "document" not in results[0] and v1.json()["meta"]["api_version"]["version"] == "1"

    v2 = requests.post(
        f"{url}/v2/rerank",
        json={
            "model": "any",
            "query": QUERY,
            "documents": [{"text": d} for d in DOCUMENTS],
            "top_n": 2,
            "return_documents": True,
        },
    ).json()
    assert [r["index"] for r in v2["results"]] == order[:2]
    assert v2["results"][0]["document"] == {"text": DOCUMENTS[order[0]]}
    assert v2["meta"]["api_version"]["version"] == "2"

    tei = requests.post(f"{url}/rerank", json={"query": QUERY, "texts": DOCUMENTS}).json()
    assert [item["index"] for item in tei] == order and set(tei[0]) == {"index", "score"}
    scores = [r["relevance_score"] for r in results]
    assert [item["score"] for item in tei] == pytest.approx(scores)

    vectors = requests.post(f"{url}/embed", json={"inputs": ["a fox", "a dog"]}).json()
    local = searcher.encoder.encode_queries(["a fox", "a dog"])
    assert np.allclose(np.array(vectors), local, atol=1e-5)
    passages = requests.post(
        f"{url}/embed", json={"inputs": ["a fox"], "prompt_name": "passage"}
    ).json()
    assert np.allclose(np.array(passages), searcher.encoder.encode(["a fox"]), atol=1e-5)
    single = requests.post(f"{url}/embed", json={"inputs": "a fox"}).json()
    assert len(single) == 1 and len(single[0]) == local.shape[1]

    health = requests.get(f"{url}/healthz")
    assert health.status_code == 200
    assert health.json()["cluster"]["engine"] == "embedded"
    assert "reranker" in health.json()["models"]


@pytest.mark.parametrize(
    ("path", "body", "status", "kind", "reason"),
    [
        ("/v1/rerank", b"{not json", 400, "parse_exception", "the body is not JSON"),
        ("/v1/rerank", b'{"documents": []}', 400, "illegal_argument_exception", "[query]"),
        (
            "/v1/rerank",
            b'{"query": "q", "documents": "x"}',
            400,
            "illegal_argument_exception",
            "[documents]",
        ),
        (
            "/v1/rerank",
            b'{"query": "q", "documents": [1]}',
            400,
            "illegal_argument_exception",
            "[documents.0]",
        ),
        (
            "/v2/rerank",
            b'{"query": "q", "documents": [], "top_n": 0}',
            400,
            "illegal_argument_exception",
            "[top_n]",
        ),
        ("/rerank", b"[]", 400, "illegal_argument_exception", "JSON object"),
        ("/embed", b"{}", 400, "illegal_argument_exception", "[inputs]"),
        (
            "/embed",
            b'{"inputs": "a", "prompt_name": "title"}',
            400,
            "illegal_argument_exception",
            "[prompt_name]",
        ),
        (
            "/nowhere",
            b"{}",
            400,
            "illegal_argument_exception",
            "serve a cluster (url) for the rest",
        ),
    ],
)
def test_bad_requests_get_engine_shaped_errors(serve, path, body, status, kind, reason):
    answer = requests.post(serve() + path, data=body)
    assert answer.status_code == status
    error = answer.json()
    assert error["status"] == status and error["error"]["type"] == kind
    assert error["error"]["root_cause"][0]["type"] == kind
    assert reason in error["error"]["reason"]


def test_the_api_key_is_required_but_not_for_health(serve):
    url = serve(api_key="s3cret-key")
    body = {"query": QUERY, "documents": DOCUMENTS}
    refused = requests.post(f"{url}/v1/rerank", json=body)
    assert refused.status_code == 401 and refused.json()["error"]["type"] == "security_exception"
    wrong = requests.post(f"{url}/v1/rerank", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    for header in ({"Authorization": "Bearer s3cret-key"}, {"x-api-key": "s3cret-key"}):
        assert requests.post(f"{url}/v1/rerank", json=body, headers=header).status_code == 200
    assert requests.get(f"{url}/healthz").status_code == 200


def test_a_full_model_queue_answers_429_and_the_rest_are_served(serve):
    url = serve(limits=Limits(rerank_queue=1))
    body = {"query": QUERY, "documents": DOCUMENTS * 100}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: requests.post(f"{url}/v1/rerank", json=body), range(8)))
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) == {200, 429}, statuses
    busy = next(answer for answer in answers if answer.status_code == 429)
    assert busy.headers["Retry-After"] == "1"
    assert busy.json()["error"]["type"] == "rejected_execution_exception"


def test_a_rerank_past_its_timeout_is_a_503_that_says_so(serve):
    url = serve(limits=Limits(rerank_timeout=1e-6))
    answer = requests.post(f"{url}/v1/rerank", json={"query": QUERY, "documents": DOCUMENTS * 50})
    assert answer.status_code == 503
    assert "timed out" in answer.json()["error"]["reason"]


def test_listening_beyond_loopback_needs_a_key(tmp_path):
    result = run_cli("serve", "--host", "0.0.0.0", data_dir=tmp_path)
    assert result.returncode == 2
    assert "--server-api-key" in result.stderr and "Traceback" not in result.stderr


def test_metrics_count_requests_stages_and_fallbacks(serve, searcher, sample_corpus):
    searcher.ingest(sample_corpus(20))
    url = serve(limits=Limits(rerank_timeout=1e-6))
    body = {"query": {"match": {"text": "cancer"}}, "size": 3}
    answer = requests.post(f"{url}/{searcher.index}/_search", json=body).json()
    assert answer["esrerank"]["reranked"] is False  # past the timeout: the fused order
    assert answer["esrerank"]["rerank_reason"].startswith("timed out")
    assert len(answer["hits"]["hits"]) == 3
    requests.post(f"{url}/v1/rerank", json={"query": QUERY, "documents": DOCUMENTS[:1]})
    text = requests.get(f"{url}/metrics").text
    assert 'esrerank_requests_total{route="_search",status="200"} 1.0' in text
    assert 'esrerank_requests_total{route="/v1/rerank",status="200"} 1.0' in text
    assert "esrerank_rerank_fallbacks_total 1.0" in text
    assert 'esrerank_stage_seconds_count{stage="fusion"} 1.0' in text
    assert "esrerank_queue_depth 0.0" in text


def test_a_search_that_comes_again_recalls_its_scores(
    tmp_path, bi_encoder, tiny_reranker, sample_corpus
):
    with Searcher(
        None,
        "served",
        data_dir=tmp_path,
        bi_encoder=bi_encoder,
        reranker=tiny_reranker,
        rerank_memory=1000,
    ) as searcher:
        searcher.ingest(sample_corpus(20))
        server = Server(build_app(searcher, None, Limits()))
        try:
            search = f"{server.url}/served/_search"
            body = {"query": {"match": {"text": "cancer"}}, "size": 3}
            first = requests.post(search, json=body).json()
            scored = _metric(requests.get(f"{server.url}/metrics").text, "passages_scored_sum")
            again = requests.post(search, json=body).json()
            requests.post(search, json={**body, "from": 3})  # page two
            metrics = requests.get(f"{server.url}/metrics").text
        finally:
            server.stop()
    assert first["esrerank"]["reranked"] is True and scored > 0
    assert again["hits"] == first["hits"]
    recalled = _metric(metrics, "scores_recalled")
    # the search again runs no pair, and page two recalls at least page one's pairs
    assert recalled >= 2 * scored
    assert recalled == searcher.reranker.memory.recalled


def _metric(text: str, name: str) -> float:
    """The value of the sample ``esrerank_rerank_<name>`` in a /metrics page."""
    (value,) = [
        line.split()[1] for line in text.splitlines() if line.startswith(f"esrerank_rerank_{name} ")
    ]
    return float(value)
