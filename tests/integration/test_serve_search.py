"""``_search`` through ``esrerank serve`` with unchanged clients, on every backend: full-text
queries come back hybrid and reranked in the engines' shape, filtered on both legs and paged
without gaps or repeats; everything else reaches the engine unchanged."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from opensearchpy import OpenSearch

from esrerank import Cluster, Searcher, Shards
from esrerank.serve.app import Limits, build_app
from esrerank.serve.proxy import Proxy

from .conftest import require_backend
from .relay import TcpRelay
from .served import served_index
from .test_serve import Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CATEGORIES = ("biology", "medicine", "physics")


@pytest.fixture
def served(backend_url, tmp_path, sample_dir, bi_encoder, tiny_reranker):
    """serve in front of a fresh index of 60 sample abstracts with a seeded category."""
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()[:60]
    documents = [json.loads(line) for line in lines]
    for number, document in enumerate(documents):
        document["category"] = CATEGORIES[number % 3]
    with served_index(
        backend_url, tmp_path, documents, "served", bi_encoder=bi_encoder, reranker=tiny_reranker
    ) as (url, index, searcher):
        yield url, index, searcher, {d["_id"]: d for d in documents}


def test_an_unchanged_client_gets_hybrid_reranked_answers(served, backend_url):
    """On a cluster the hits are the engine's own (its ``_id``s, here passages) in the order
    the Python API gives the same legs; the embedded store answers each document once."""
    url, index, searcher, documents = served
    # The embedded store ranks the whole window of 100 to page by document (no early stop):
    # seconds on a slow machine, so a longer wait than the client's default 10 s.
    client = OpenSearch(hosts=[url], timeout=60)
    field = "text" if backend_url is None else "content"  # the Python API's own BM25 field
    answer = client.search(
        index=index, body={"query": {"match": {field: "cancer surgery"}}, "size": 5}
    )
    hits = answer["hits"]["hits"]
    assert len(hits) == 5 and answer["hits"]["total"]["relation"] == "eq"
    assert [h["_score"] for h in hits] == sorted((h["_score"] for h in hits), reverse=True)
    assert len({h["_id"] for h in hits}) == 5
    assert all(document(documents, h["_id"]) for h in hits)
    expected = []
    for hit in searcher.search("cancer surgery", top_k=100, candidates=100).hits:
        key = hit.doc_id if backend_url is None else hit.passage_id
        if key not in expected:
            expected.append(key)
    assert [h["_id"] for h in hits] == expected[:5]  # the Python API's reranked order
    assert hits[0]["_source"]["text"] and hits[0]["_source"]["category"] in CATEGORIES
    if backend_url is not None:  # the cross-encoder stops once the page is known
        small = requests.post(
            f"{url}/{index}/_search",
            json={"query": {"match": {field: "cancer surgery"}}, "size": 2},
        )
        scored, pool = map(int, small.headers["x-esrerank-rerank-scored"].split("/"))
        assert 2 <= scored <= pool
        assert [h["_id"] for h in small.json()["hits"]["hits"]] == expected[:2]

    pages = [
        client.search(
            index=index, body={"query": {"match": {"text": "cancer"}}, "from": start, "size": 5}
        )
        for start in (0, 5, 10)
    ]
    paged = [h["_id"] for page in pages for h in page["hits"]["hits"]]
    whole = client.search(index=index, body={"query": {"match": {"text": "cancer"}}, "size": 15})
    assert paged == [h["_id"] for h in whole["hits"]["hits"]] and len(set(paged)) == 15

    filtered = client.search(
        index=index,
        body={
            "query": {
                "bool": {
                    "must": [{"multi_match": {"query": "cancer", "fields": ["title", "text"]}}],
                    "filter": [{"terms": {"category": ["medicine", "physics"]}}],
                    "must_not": [{"term": {"category": "physics"}}],
                }
            },
            "size": 20,
            "_source": ["category"],
        },
    )
    ids = [h["_id"] for h in filtered["hits"]["hits"]]
    assert ids and all(document(documents, i)["category"] == "medicine" for i in ids)
    assert all(set(h["_source"]) == {"category"} for h in filtered["hits"]["hits"])

    explained = requests.post(
        f"{url}/{index}/_search?esrerank_explain=true",
        json={"query": {"match": {"text": "cancer"}}, "size": 1, "_source": False},
    ).json()
    hit = explained["hits"]["hits"][0]
    assert "_source" not in hit and explained["esrerank"]["reranked"] is True
    scores = (
        hit["_esrerank"]["scores"]
        if backend_url is None
        else explained["esrerank"]["hits"][0]["scores"]
    )
    assert set(scores) >= {"bm25", "dense", "rerank"}


def test_an_index_of_several_shards_is_scored_as_the_python_api_scores_it(
    backend_url, tmp_path, sample_dir, bi_encoder, tiny_reranker
):
    """The lexical leg serve sends scores BM25 with the whole index's statistics, as the
    Python API's does: on three primaries, each shard's own would give other scores (and, on
    a bigger index, another order) than ``esrerank query``."""
    if backend_url is None:
        pytest.skip("one file: the embedded store has no shards")
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()[:60]
    documents = [json.loads(line) for line in lines]
    with served_index(
        backend_url,
        tmp_path,
        documents,
        "sharded",
        shards=Shards(3, 0),
        bi_encoder=bi_encoder,
        reranker=tiny_reranker,
    ) as (url, index, searcher):
        query = {"query": {"match": {"content": "cancer surgery"}}, "size": 5}
        served = requests.post(f"{url}/{index}/_search?esrerank_explain=true", json=query).json()
        own = searcher.search("cancer surgery", top_k=5, candidates=100)
        assert [h["_id"] for h in served["hits"]["hits"]] == [h.passage_id for h in own.hits]
        bm25 = {h.passage.passage_id: h.score for h in own.legs["bm25"]}
        assert lexical_scores(served) == pytest.approx(bm25_of(bm25, served))
        chosen = requests.post(
            f"{url}/{index}/_search?esrerank_explain=true&search_type=query_then_fetch",
            json=query,
        ).json()  # the application's own choice is kept: each shard's statistics
        assert lexical_scores(chosen) != pytest.approx(bm25_of(bm25, chosen))


def lexical_scores(explained: dict) -> dict[str, float]:
    """The BM25 score of each hit (by ``_id``) of serve's explained answer that the lexical
    leg found."""
    hits = explained["esrerank"]["hits"]
    return {
        h["passage_id"].partition("/")[2]: h["scores"]["bm25"]
        for h in hits
        if h["scores"]["bm25"] is not None
    }


def bm25_of(scores: dict[str, float], explained: dict) -> dict[str, float | None]:
    """``scores`` of the hits ``lexical_scores`` gives."""
    return {key: scores.get(key) for key in lexical_scores(explained)}


def document(documents: dict, hit_id: str) -> dict:
    """The corpus document a hit comes from (a cluster's hits are its passages: ``doc#n``)."""
    return documents[hit_id.split("#")[0]]


def test_other_requests_reach_the_engine_unchanged(served, backend_url):
    url, index, _, _ = served
    if backend_url is None:
        refused = requests.post(
            f"{url}/{index}/_search", json={"aggs": {"c": {"terms": {"field": "category"}}}}
        )
        assert refused.status_code == 400 and "serve a cluster (url) for the rest" in refused.text
        return
    for method, path, body in [
        ("GET", f"/{index}/_mapping", None),
        ("POST", f"/{index}/_search", {"size": 0, "aggs": {"c": {"terms": {"field": "category"}}}}),
        (
            "POST",
            f"/{index}/_search?esrerank=off",
            {"query": {"match": {"text": "cancer"}}, "size": 3},
        ),
        ("GET", f"/{index}/_doc/nope", None),
        ("GET", "/_cat/indices/" + index + "?h=index", None),
    ]:
        direct = requests.request(
            method, backend_url + path.replace("?esrerank=off", ""), json=body
        )
        through = requests.request(method, url + path, json=body)
        assert through.status_code == direct.status_code, path
        if "json" in direct.headers.get("content-type", ""):
            assert without_took(through.json()) == without_took(direct.json()), path
        else:
            assert through.text == direct.text, path
    bulk = (
        "\n".join(
            [json.dumps({"index": {"_index": index, "_id": "added"}}), json.dumps({"text": "x"})]
        )
        + "\n"
    )
    written = requests.post(
        f"{url}/_bulk?refresh=true", data=bulk, headers={"content-type": "application/x-ndjson"}
    )
    assert written.status_code == 200 and written.json()["errors"] is False
    assert requests.get(f"{backend_url}/{index}/_doc/added").json()["found"] is True


def without_took(answer):
    return {k: v for k, v in answer.items() if k != "took"} if isinstance(answer, dict) else answer


@pytest.mark.parametrize("engine", ["opensearch", "elasticsearch"])
def test_a_cluster_that_goes_down_is_a_503_with_the_reason(
    engine, tmp_path, sample_dir, bi_encoder, tiny_reranker
):
    """Through a relay to the real engine that the test cuts: searches, proxied requests and
    the health check answer 503 naming the cluster, and all recover when it is back."""
    relay = TcpRelay(require_backend(engine))
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join((sample_dir / "corpus.jsonl").read_text().splitlines(True)[:10]))
    index = f"down-{uuid.uuid4().hex[:8]}"
    searcher = Searcher(
        Cluster(relay.url), index, data_dir=tmp_path, bi_encoder=bi_encoder, reranker=tiny_reranker
    )
    searcher.ingest(corpus)
    searcher.warm_up()  # as esrerank serve does before it listens
    server = Server(build_app(searcher, None, Limits(), Proxy(Cluster(relay.url))))
    search = {"query": {"match": {"text": "cancer"}}, "size": 3}
    try:
        assert requests.post(f"{server.url}/{index}/_search", json=search).status_code == 200
        relay.cut()
        for method, path, body in [
            ("POST", f"/{index}/_search", search),
            ("GET", f"/{index}/_doc/x", None),
            ("GET", "/healthz", None),
        ]:
            answer = requests.request(method, server.url + path, json=body, timeout=60)
            assert answer.status_code == 503, (path, answer.text)
            reason = answer.json().get("error", {}).get("reason") or answer.json()["cluster"]
            assert relay.url in str(reason), (path, answer.text)
        relay.restore()
        assert requests.post(f"{server.url}/{index}/_search", json=search).status_code == 200
        assert requests.get(f"{server.url}/healthz").status_code == 200
    finally:
        server.stop()
        if relay.listener is None:
            relay.restore()
        searcher.backend.delete_index(index)
        searcher.close()
        relay.cut()


def test_a_deeply_nested_body_never_reaches_the_cluster(served, backend_url):
    """OpenSearch 2.19 exits on a search nested 5,000 levels deep; through serve it is a 400
    and the engine stays up, the engine's own answer asked for or not."""
    url, index, _, _ = served
    deep = '{"query":' + '{"bool":{"must":' * 5000 + '{"match_all":{}}' + "}}" * 5000 + "}"
    for suffix in ("", "?esrerank=off"):
        answer = requests.post(
            f"{url}/{index}/_search{suffix}",
            data=deep,
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 400 and "nests deeper than 100" in answer.text
    if backend_url:
        assert requests.get(backend_url, timeout=5).status_code == 200
