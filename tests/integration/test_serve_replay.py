"""The replay suite: request bodies as real front ends, CMS backends and RAG frameworks send them
(tests/data/replay/requests.json names the project behind each), each sent through
``esrerank serve`` and straight to the engine.

For every body: serve answers it itself exactly when the rules say a relevance-ranked text
search is one (the ``expect`` of each entry), and its answer keeps the engine's shape: the same
keys, the engine's own hit objects (``_id``, ``_source``, ``highlight``, ``fields``) for the
hits the engine found, ``aggregations`` and ``suggest`` as the engine computed them, the URL
parameters applied; in ``rerank`` mode, exactly the engine's hits for the same window."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

import pytest
import requests

from esrerank import Cluster, Searcher
from esrerank.serve.app import Limits, build_app
from esrerank.serve.filter_path import apply_filter_path
from esrerank.serve.proxy import Proxy

from .conftest import require_backend
from .served import SERVED_RERANK_TOKENS
from .test_serve import Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REQUESTS = json.loads((Path(__file__).parents[1] / "data" / "replay" / "requests.json").read_text())
CATEGORIES = ("biology", "medicine", "physics")
TAGS = ("review", "trial", "cohort")
# What serve sets on a hit it reorders; everything else about a hit is the engine's.
RESCORED = {"_score", "sort", "_explanation"}
# Every search of a case, sent directly or through serve, asks the same shard copies: with
# replicas, copies number their documents apart (``explain`` shows it, ties fall by it).
PINNED = "esrerank-replay"


def seeded(documents: list[dict]) -> list[dict]:
    """The sample abstracts with the facet fields front ends filter and count on."""
    rng = random.Random(7)
    for document in documents:
        document["category"] = rng.choice(CATEGORIES)
        document["year"] = rng.randint(1990, 2020)
        document["tags"] = rng.sample(TAGS, rng.randint(1, 2))
    return documents


@pytest.fixture(scope="module", params=["opensearch", "elasticsearch"])
def replayed(request, tmp_path_factory, sample_dir, bi_encoder, tiny_reranker):
    """serve in front of the 300 sample abstracts on one engine."""
    url = require_backend(request.param)
    folder = tmp_path_factory.mktemp("replay")
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()[:300]
    corpus = folder / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(d) + "\n" for d in seeded(list(map(json.loads, lines)))))
    index = f"replay-{uuid.uuid4().hex[:8]}"
    searcher = Searcher(
        url,
        index,
        data_dir=folder,
        bi_encoder=bi_encoder,
        reranker=tiny_reranker,
        rerank_max_length=SERVED_RERANK_TOKENS,
    )
    searcher.ingest(corpus)
    searcher.warm_up()  # as esrerank serve does before it listens
    server = Server(build_app(searcher, None, Limits(), Proxy(Cluster(url))))
    yield url, server.url, index
    server.stop()
    searcher.backend.delete_index(index)
    searcher.close()


def send(base: str, index: str, entry: dict, params: dict | None = None) -> requests.Response:
    params = {**entry["params"], **(params or {})}
    if entry["endpoint"] == "_msearch":
        lines = []
        for header, body in entry["items"]:
            named = {k: (index if v == "INDEX" else v) for k, v in header.items()}
            named.setdefault("preference", PINNED)
            lines += [json.dumps(named), json.dumps(body)]
        return requests.post(
            f"{base}/{index}/_msearch",
            params=params,
            data="\n".join(lines) + "\n",
            headers={"content-type": "application/x-ndjson"},
            timeout=120,
        )
    params.setdefault("preference", PINNED)
    return requests.post(f"{base}/{index}/_search", params=params, json=entry["body"], timeout=120)


def without_took(answer: dict) -> dict:
    """An answer less what differs between two runs of one request."""
    return {k: v for k, v in answer.items() if k not in ("took", "_scroll_id")}


def widened(entry: dict, body: dict, preference: str = PINNED) -> tuple[dict, dict]:
    """The body and URL parameters of the lexical leg serve sends for ``body`` (scored with the
    whole index's statistics unless the application chose a ``search_type``), on the shard
    copies ``preference`` picks."""
    params = {k: v for k, v in entry["params"].items() if k not in ("from", "size", "filter_path")}
    params.setdefault("search_type", "dfs_query_then_fetch")
    params.setdefault("preference", preference)
    start = int(entry["params"].get("from", body.get("from", 0)))
    size = int(entry["params"].get("size", body.get("size", 10)))
    return {**body, "from": 0, "size": max(100, start + size)}, params


def check_answered(
    engine: str, index: str, entry: dict, body: dict, answer: dict, preference: str = PINNED
) -> None:
    """``answer`` (serve's, to ``body``) has the engine's shape and the engine's own hits."""
    wide_body, params = widened(entry, body, preference)
    direct = requests.post(f"{engine}/{index}/_search", params=params, json=wide_body).json()
    filter_path = entry["params"].get("filter_path")
    if filter_path:
        direct = apply_filter_path(direct, filter_path)
    assert set(answer) == set(direct), (sorted(answer), sorted(direct))
    for part in ("aggregations", "suggest", "_shards", "timed_out"):
        assert answer.get(part) == direct.get(part), part
    if "hits" not in direct:
        return
    size = int(entry["params"].get("size", body.get("size", 10)))
    hits = answer["hits"].get("hits", [])
    assert len(hits) <= size and len({(h.get("_index"), h.get("_id")) for h in hits}) == len(hits)
    engine_hits = {(h.get("_index"), h.get("_id")): h for h in direct["hits"].get("hits", [])}
    if "collapse" in body:  # one hit per value of the field, as the engine collapses
        values = [json.dumps(h["fields"][body["collapse"]["field"]]) for h in hits]
        assert len(values) == len(set(values))
    for hit in hits:
        own = engine_hits.get((hit.get("_index"), hit.get("_id")))
        if own is not None and body.get("explain") is True:  # the engine's own explanation
            assert hit["_explanation"]["details"][0]["details"] == [own["_explanation"]]
        if own is None:  # found by the dense leg alone: as the engine gives it, asked by id
            own = alone(engine, index, params, wide_body, hit["_id"])
            hit = {k: v for k, v in hit.items() if k != "highlight"}  # where it matched, if so
        assert set(hit) == set(own) and rescored(hit) == rescored(own), hit.get("_id")
        if body.get("explain") is True:
            assert hit["_explanation"]["description"].startswith("esrerank")
    total, engine_total = answer["hits"].get("total"), direct["hits"].get("total")
    if isinstance(engine_total, int):  # the engine's count, and the dense leg's additions
        assert isinstance(total, int) and total >= engine_total
    elif engine_total is not None:
        assert total["relation"] == engine_total["relation"]
        assert total["value"] >= engine_total["value"]


@pytest.mark.parametrize("entry", REQUESTS, ids=[e["name"] for e in REQUESTS])
def test_each_request_is_answered_by_the_rule_in_the_engines_shape(replayed, entry):
    engine, serve, index = replayed
    through = send(serve, index, entry)
    direct = send(engine, index, entry)
    assert through.status_code == direct.status_code, through.text[:300]
    if direct.status_code != 200:  # a body this engine refuses (Elasticsearch 9 drops the
        assert through.json() == direct.json()  # range syntax of 8): its error, as it sent it
        return
    if entry["endpoint"] == "_search":
        answered = "x-esrerank-mode" in through.headers
        assert answered == (entry["expect"] == "hybrid")
        if answered:
            check_answered(engine, index, entry, entry["body"], through.json())
            assert through.headers.get("x-elastic-product") == direct.headers.get(
                "x-elastic-product"
            )
        else:
            assert without_took(through.json()) == without_took(direct.json())
        return
    expected = [mode == "hybrid" for mode in entry["expect"]]
    assert through.headers["x-esrerank-answered"] == f"{sum(expected)}/{len(expected)}"
    responses = zip(through.json()["responses"], direct.json()["responses"], strict=True)
    items = zip(entry["items"], expected, responses, strict=True)
    for (header, body), hybrid, (mine, theirs) in items:
        if hybrid:
            assert mine.get("status") == theirs.get("status")
            preference = header.get("preference", PINNED)
            check_answered(engine, index, entry, body, without_status(mine), preference)
        else:
            assert without_took(mine) == without_took(theirs)


def rescored(hit: dict) -> dict:
    """A hit less what serve sets on it."""
    return {k: v for k, v in hit.items() if k not in RESCORED}


def alone(engine: str, index: str, params: dict, body: dict, hit_id: str) -> dict:
    """The engine's hit for one document, with ``body``'s field options (no highlight: an
    ``ids`` query matches no text)."""
    left_out = ("aggs", "aggregations", "suggest", "post_filter", "from", "highlight")
    options = {k: v for k, v in body.items() if k not in left_out}
    options.update(query={"ids": {"values": [hit_id]}}, size=1)
    answer = requests.post(f"{engine}/{index}/_search", params=params, json=options).json()
    return answer["hits"]["hits"][0]


def without_status(item: dict) -> dict:
    return {k: v for k, v in item.items() if k != "status"}


HYBRID_SEARCHES = [e for e in REQUESTS if e["endpoint"] == "_search" and e["expect"] == "hybrid"]


@pytest.mark.parametrize("entry", HYBRID_SEARCHES, ids=[e["name"] for e in HYBRID_SEARCHES])
def test_rerank_mode_keeps_exactly_the_engines_hits(replayed, entry):
    engine, serve, index = replayed
    wide_body, params = widened(entry, entry["body"])
    whole = {"from": "0", "size": str(wide_body["size"])}
    through = send(serve, index, entry, {**whole, "esrerank_mode": "rerank"})
    answer = requests.post(f"{engine}/{index}/_search", params=params, json=wide_body)
    assert through.status_code == answer.status_code
    if answer.status_code != 200:
        return  # a body this engine refuses: its error, as the test above checks
    assert through.headers["x-esrerank-mode"] == "rerank"
    direct = answer.json()
    ids = lambda answer: sorted(h["_id"] for h in answer["hits"]["hits"])  # noqa: E731
    assert ids(through.json()) == ids(direct)
    assert through.json()["hits"].get("total") == direct["hits"].get("total")
