"""Seeded fuzzing of ``esrerank serve`` over real HTTP, on every backend: request bodies (valid
searches with a part replaced, wrong types, deep nesting, truncated, binary and oversized
bodies), paths (odd characters, encodings, dot segments, very long) and query parameters.
Never a 500 of esrerank's making (a 500 only where the engine itself answers the same request
with one), never a traceback, never a hang; the server still answers properly afterwards."""

from __future__ import annotations

import json
import random
import uuid
from urllib.parse import quote

import pytest
import requests

from esrerank import Cluster, Searcher
from esrerank.serve.app import Limits, build_app
from esrerank.serve.proxy import Proxy

from .test_serve import Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CASES = 1000  # per backend
TIMEOUT = 60  # seconds one request may take before it counts as a hang
ODD = ["", " ", "é", "한국어", "\u2028", "\x00", "%", "%2F", "..", "\ud800", "*", ",", "?", "#"]
# in paths, an unpaired surrogate and a stray byte arrive as invalid UTF-8
PATH_ODD = ["", " ", "é", "한국어", "\u2028", "\x00", "%", "%2F", "..", "%ED%A0%80", "%FF"]
PATH_ODD += ["*", ",", "?", "#"]
VALUES = [None, True, -1, 0, 2**70, 1.5e308, "", "x", "한", [], {}, [1, "a"], {"a": None}]


@pytest.fixture
def fuzzed(backend_url, tmp_path, sample_dir, bi_encoder, tiny_reranker):
    corpus = tmp_path / "corpus.jsonl"
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines(True)[:8]
    corpus.write_text("".join(lines))
    index = f"fuzz-{uuid.uuid4().hex[:8]}"
    searcher = Searcher(
        backend_url, index, data_dir=tmp_path, bi_encoder=bi_encoder, reranker=tiny_reranker
    )
    searcher.ingest(corpus)
    proxy = Proxy(Cluster(backend_url)) if backend_url else None
    limits = Limits(rerank_queue=64, rerank_timeout=30)
    searcher.warm_up()  # as esrerank serve does before it listens
    server = Server(build_app(searcher, None, limits, proxy))
    yield server.url, index
    server.stop()
    searcher.backend.delete_index(index)
    searcher.close()


def valid_search(rng: random.Random) -> dict:
    text = rng.choice(["cancer", "cell biology", '"quoted" \\ text', "한국어", "x" * 5000])
    full_text = rng.choice(
        [
            {"match": {"text": text}},
            {"match": {"text": {"query": text, "operator": "and"}}},
            {"multi_match": {"query": text, "fields": ["title", "text^2"]}},
            {"query_string": {"query": text}},
            {"simple_query_string": {"query": text, "fields": ["*"]}},
        ]
    )
    query = full_text
    if rng.random() < 0.5:
        query = {
            "bool": {
                "must": [full_text],
                "filter": [{"term": {"title": rng.choice(["a", "b"])}}],
                "must_not": [{"exists": {"field": "nope"}}],
            }
        }
    body = {"query": query, "from": rng.randint(0, 20), "size": rng.randint(0, 20)}
    if rng.random() < 0.3:
        body["_source"] = rng.choice([False, ["title"], {"excludes": ["text"]}, "t*"])
    for key, value in APP_PARTS:  # what front ends add around the query
        if rng.random() < 0.06:
            body[key] = value
    return body


APP_PARTS = [
    ("highlight", {"fields": {"text": {}, "title": {"number_of_fragments": 0}}}),
    ("aggs", {"by_title": {"terms": {"field": "passage_id", "size": 3}}}),
    ("sort", ["_score"]),
    ("post_filter", {"exists": {"field": "title"}}),
    ("explain", True),
    ("suggest", {"s": {"text": "cancr", "term": {"field": "text"}}}),
    ("stored_fields", ["_none_"]),
]


def msearch_body(rng: random.Random, index: str) -> bytes:
    """An ``_msearch`` body: one to three items, some broken."""
    lines = []
    for _ in range(rng.randint(1, 3)):
        header = rng.choice([{}, {"index": index}, {"index": [index]}, {"index": index + "x"}])
        body = rng.choice([valid_search(rng), mutated(rng, valid_search(rng)), [1], "x"])
        lines += [json.dumps(header), json.dumps(body)]
    if rng.random() < 0.2:
        lines.pop(rng.randrange(len(lines)))  # a header without its body
    return ("\n".join(lines) + "\n").encode()


def mutated(rng: random.Random, value):
    """``value`` with one randomly chosen part replaced."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        return {**value, key: mutated(rng, value[key])}
    if isinstance(value, list) and value and rng.random() < 0.8:
        at = rng.randrange(len(value))
        return [*value[:at], mutated(rng, value[at]), *value[at + 1 :]]
    return rng.choice([*VALUES, {rng.choice(ODD): rng.choice(VALUES)}])


def random_body(rng: random.Random) -> bytes | None:
    kind = rng.choice(
        ["valid", "valid", "valid", "mutated", "mutated", "rerank", "junk", "nesting", "truncated"]
    )
    if kind == "valid":
        return json.dumps(valid_search(rng)).encode()
    if kind == "mutated":
        return json.dumps(mutated(rng, valid_search(rng))).encode()
    if kind == "rerank":
        body = {"query": "cell", "documents": ["a", {"text": "b"}], "texts": ["c"], "top_n": 1}
        return json.dumps(mutated(rng, body)).encode()
    if kind == "junk":
        return bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 200)))
    if kind == "nesting":
        depth = rng.choice([50, 5_000, 200_000])
        opening, closing = rng.choice([("[", "]"), ('{"bool":{"must":', "}}")])
        return (opening * depth + "1" + closing * depth).encode()
    whole = json.dumps(valid_search(rng)).encode()  # truncated
    return whole[: rng.randrange(len(whole))]


def random_request(rng: random.Random, index: str) -> tuple[str, str, bytes | None]:
    """A method, a path with its query string, and a body. Besides esrerank's own routes and
    ``_search``, only reads without a body reach the engine: the cluster is shared with other
    tests."""
    odd = quote(rng.choice(PATH_ODD), safe="%") if rng.random() < 0.5 else rng.choice(PATH_ODD)
    kind = rng.choice(["search", "search", "search", "msearch", "own", "read", "odd"])
    if kind == "msearch":
        method, path = "POST", rng.choice(["/_msearch", f"/{index}/_msearch"])
    elif kind == "search":
        target = rng.choice([index] * 4 + [index + odd, f"{index},{index}", "_all", odd or "x"])
        method, path = rng.choice(["GET", "POST", "POST"]), f"/{target}/_search"
    elif kind == "own":
        method = rng.choice(["POST", "POST", "GET"])
        path = rng.choice(["/v1/rerank", "/v2/rerank", "/rerank", "/embed", "/healthz", "/metrics"])
    elif kind == "read":
        method = rng.choice(["GET", "HEAD"])
        path = rng.choice([f"/{index}/_doc/{odd or 'x'}", f"/{index}/_mapping", "/_cat/indices"])
    else:
        method = rng.choice(["GET", "HEAD", "OPTIONS"])
        path = "/" + "/".join(rng.choice(PATH_ODD + ["a" * 5000, "_search"]) for _ in range(3))
    params = ["esrerank=off", "esrerank_explain=true", "q=cell", "size=-1", f"x={odd}", "pretty"]
    params += ["esrerank_mode=rerank", "esrerank_mode=x", "filter_path=hits.hits._id", "size=3"]
    params = rng.sample(params, rng.randint(1, 2)) if rng.random() < 0.3 else []
    if params:
        path += "?" + "&".join(params)
    body = random_body(rng) if kind in ("search", "own") and rng.random() < 0.9 else None
    if kind == "msearch":
        body = msearch_body(rng, index) if rng.random() < 0.8 else random_body(rng)
    if rng.random() < 0.01:
        body = b" " * (11 * 1024 * 1024)  # over the body cap
    return method, path, body


def send(base: str, method: str, path: str, body: bytes | None) -> requests.Response:
    headers = {"content-type": "application/json"}
    return requests.request(method, base + path, data=body, headers=headers, timeout=TIMEOUT)


def test_no_request_gets_a_500_a_traceback_or_a_hang(fuzzed, backend_url):
    url, index = fuzzed
    rng = random.Random(20261125)
    statuses: dict[int, int] = {}
    for case in range(CASES):
        method, path, body = random_request(rng, index)
        where = f"case {case}: {method} {path[:120]} {(body or b'')[:120]!r}"
        try:
            answer = send(url, method, path, body)
        except requests.Timeout:
            raise AssertionError(f"{where}: no answer in {TIMEOUT} s") from None
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        assert "Traceback" not in answer.text, where
        if answer.status_code >= 500:  # only as the engine's own answer, passed through
            assert backend_url, f"{where}: {answer.status_code} {answer.text[:300]}"
            direct = send(backend_url, method, path.replace("esrerank=off", "x=1"), body)
            assert direct.status_code == answer.status_code, f"{where}: {answer.text[:300]}"
    assert statuses.get(200, 0) > CASES // 30 and statuses.get(400, 0) > CASES // 10, statuses
    healthy = requests.post(f"{url}/{index}/_search", json={"query": {"match": {"text": "cell"}}})
    assert healthy.status_code == 200
    if backend_url:  # how the hits were ordered is in headers, the body keeps the engine's keys
        assert healthy.headers["x-esrerank-reranked"] == "true"
    else:
        assert healthy.json()["esrerank"]["reranked"] is True
