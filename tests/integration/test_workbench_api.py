"""The workbench's page and API over real HTTP, on every backend: columns with the ranks the
Python API gives, a what-if that reorders without the model, the page's files open but its
calls behind the API key, and calls from another site refused."""

from __future__ import annotations

import json

import pytest
import requests

from esrerank.backends.judgments import Judgment
from esrerank.fusion import FusionSpec

from .served import served_index

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEY = "workbench-key"
QUERY = "bariatric surgery and obesity"


@pytest.fixture
def served(backend_url, tmp_path, sample_dir, bi_encoder, tiny_reranker):
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()[:60]
    with served_index(
        backend_url,
        tmp_path,
        [json.loads(line) for line in lines],
        "bench",
        KEY,
        bi_encoder=bi_encoder,
        reranker=tiny_reranker,
        rerank_memory=20_000,
    ) as found:
        yield found


def call(url: str, body: dict, **headers) -> requests.Response:
    return requests.post(
        f"{url}/_esrerank/workbench/api/search",
        data=json.dumps(body),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}", **headers},
        timeout=120,
    )


def test_columns_and_a_what_if_without_the_model(served):
    url, index, searcher = served
    answer = call(
        url, {"index": index, "query": QUERY, "size": 5, "settings": {"rerank_weight": 0.3}}
    )
    assert answer.status_code == 200, answer.text
    view = answer.json()
    api = searcher.search(QUERY, top_k=5, rerank_weight=0.3)
    assert view["columns"]["final"] == [h.passage_id for h in api.hits]
    assert view["columns"]["bm25"] == [h.passage.passage_id for h in api.legs["bm25"][:5]]
    assert view["columns"]["dense"] == [h.passage.passage_id for h in api.legs["dense"][:5]]
    assert view["columns"]["fused"] == list(api.fused.order[:5])
    assert view["reranked"] and view["rerank_scored"] == view["rerank_pool"] > 5  # all of it

    heavier = call(
        url,
        {
            "index": index,
            "query": QUERY,
            "size": 5,
            "reuse": True,
            "settings": {"rerank_weight": 1},
        },
    ).json()
    assert heavier["reused"] and heavier["model_pairs"] == 0  # every score from memory
    scores = [heavier["passages"][p]["scores"]["rerank"] for p in heavier["columns"]["final"]]
    assert scores == sorted(scores, reverse=True)  # weight 1: the cross-encoder's order
    # another fusion puts other passages in the pool: only those are new to the model
    rrf = {"index": index, "query": QUERY, "reuse": True, "settings": {"fusion": {"method": "rrf"}}}
    first_rrf = call(url, rrf).json()
    assert first_rrf["fusion"]["method"] == "rrf"
    assert first_rrf["model_pairs"] < first_rrf["rerank_pool"] // 2
    assert call(url, rrf).json()["model_pairs"] == 0


def test_the_page_loads_without_the_key_and_its_calls_need_it(served):
    url, index, _ = served
    page = requests.get(f"{url}/_esrerank/workbench/", timeout=10)
    assert page.status_code == 200 and "esrerank workbench" in page.text
    assert "content-security-policy" in page.text.lower()
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert requests.get(f"{url}/_esrerank/workbench/workbench.js", timeout=10).status_code == 200
    moved = requests.get(f"{url}/_esrerank/workbench", allow_redirects=False, timeout=10)
    assert moved.status_code == 308 and moved.headers["location"].endswith("/workbench/")
    keyless = requests.get(f"{url}/_esrerank/workbench/api/config", timeout=10)
    assert keyless.status_code == 401 and keyless.json()["error"]["type"] == "security_exception"
    config = requests.get(
        f"{url}/_esrerank/workbench/api/config", headers={"x-api-key": KEY}, timeout=10
    )
    assert config.json()["index"] == index and index in config.json()["indices"]
    missing = requests.get(f"{url}/_esrerank/workbench/nothing.js", timeout=10)
    assert missing.status_code == 404 and "error" in missing.json()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "https://elsewhere.example"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Origin": "null"}, 403),
        ({"Content-Type": "text/plain"}, 415),  # a form or a no-preflight fetch
    ],
)
def test_calls_from_another_site_are_refused(served, headers, status):
    url, index, _ = served
    answer = call(url, {"index": index, "query": QUERY}, **headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["status"] == status and answer.json()["error"]["reason"]


def test_the_same_origin_and_bad_input(served):
    url, index, _ = served
    same = call(
        url, {"index": index, "query": QUERY}, Origin=url, **{"Sec-Fetch-Site": "same-origin"}
    )
    assert same.status_code == 200, same.text
    for body, status, kind in (
        ({"index": "no-such-index", "query": QUERY}, 404, "index_not_found_exception"),
        ({"index": index, "query": ""}, 400, "illegal_argument_exception"),
        ({"index": index, "query": QUERY, "settings": {"rerank_weight": 3}}, 400, None),
        ({"index": index, "query": QUERY, "size": 0}, 400, None),
    ):
        answer = call(url, body)
        assert answer.status_code == status, (body, answer.text)
        if kind:
            assert answer.json()["error"]["type"] == kind


def test_judgments_are_kept_listed_edited_and_forgotten(served):
    url, index, searcher = served
    base = f"{url}/_esrerank/workbench/api/judgments"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}

    def judge(doc_id, grade, **extra):
        body = {"index": index, "query": QUERY, "doc_id": doc_id, "grade": grade}
        return requests.post(base, data=json.dumps(body), headers={**headers, **extra}, timeout=30)

    assert judge("d1", 3).json() == {"index": index, "judged": 1}
    assert judge("d2", 1).status_code == 200
    assert judge("d1", 2).status_code == 200  # edited: judged again
    listed = requests.get(base, params={"index": index, "query": QUERY}, headers=headers).json()
    assert {j["doc_id"]: j["grade"] for j in listed["judgments"]} == {"d1": 2, "d2": 1}
    stored = searcher.backend.judgments(index).all()  # where the library reads them
    assert {j.doc_id: j.grade for j in stored} == {"d1": 2, "d2": 1}
    other = requests.get(base, params={"index": index, "query": "other"}, headers=headers)
    assert other.json()["judgments"] == []

    exported = requests.get(f"{base}/export", params={"index": index}, headers=headers).json()
    assert set(exported["files"]) == {"queries.jsonl", "qrels/test.tsv"}
    assert exported["files"]["qrels/test.tsv"].splitlines()[1:] == sorted(
        f"{j.query_id}\t{j.doc_id}\t{j.grade}" for j in stored
    )

    forget = {"index": index, "query": QUERY, "doc_id": "d2"}
    gone = requests.post(f"{base}/delete", data=json.dumps(forget), headers=headers, timeout=30)
    assert gone.json()["deleted"] is True
    assert [j.doc_id for j in searcher.backend.judgments(index).all()] == ["d1"]

    assert judge("d3", 5).status_code == 400  # grades are 0-3
    assert judge("d3", 1, Origin="https://elsewhere.example").status_code == 403
    missing = {"index": "no-such-index", "query": QUERY, "doc_id": "d", "grade": 1}
    refused = requests.post(base, data=json.dumps(missing), headers=headers, timeout=30)
    assert refused.status_code == 404


def test_tune_from_judgments_then_undo(served):
    url, index, searcher = served
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}
    api = f"{url}/_esrerank/workbench/api"
    few = [Judgment(QUERY, searcher.search(QUERY, top_k=1, rerank=False).hits[0].doc_id, 3)]
    searcher.backend.judgments(index).put(few)
    too_few = requests.post(f"{api}/tune", data=json.dumps({"index": index}), headers=headers)
    assert too_few.status_code == 200, too_few.text
    assert not too_few.json()["decided"] and "too few" in too_few.json()["why"]

    titles = {p.title: p.doc_id for p in searcher.backend.passages(index) if p.title}
    judged = [Judgment(title, doc, 3) for title, doc in sorted(titles.items())[:10]]
    searcher.backend.judgments(index).put(judged)
    tuned = requests.post(f"{api}/tune", data=json.dumps({"index": index}), headers=headers)
    record = tuned.json()
    assert tuned.status_code == 200, tuned.text
    assert record["decided"] and record["queries"] == 11, record
    assert [c["setting"] for c in record["changes"]] == ["fusion", "rerank"]
    assert all(c["why"] for c in record["changes"])
    state = requests.get(f"{api}/tuning", params={"index": index}, headers=headers).json()
    assert len(state["history"]) == (1 if record["applied"] else 0)

    searcher.handle.remember_tuning("by hand")  # a change to undo, whatever the guard kept
    searcher.handle.store_fusion(FusionSpec("rrf"), {"tuned_on": "by hand"})
    before = requests.get(f"{api}/tuning", params={"index": index}, headers=headers).json()
    assert before["fusion"].startswith("rrf")
    undone = requests.post(f"{api}/tuning/undo", data=json.dumps({"index": index}), headers=headers)
    assert undone.status_code == 200 and undone.json()["undone"]["change"] == "by hand"
    assert not undone.json()["fusion"].startswith("rrf")
    while len(searcher.handle.tuning_history()):
        searcher.handle.undo_tuning()
    nothing = requests.post(
        f"{api}/tuning/undo", data=json.dumps({"index": index}), headers=headers
    )
    assert (
        nothing.status_code == 400
        and "no tuning from judgments" in nothing.json()["error"]["reason"]
    )


def test_two_configurations_compared(served):
    url, index, _ = served
    queries = [QUERY, "cancer risk", "protein folding"]
    body = {
        "index": index,
        "queries": queries,
        "first": {"rerank_weight": 0},
        "second": {"rerank_weight": 1, "fusion": {"method": "rrf"}},
        "size": 5,
    }
    answer = requests.post(
        f"{url}/_esrerank/workbench/api/compare",
        data=json.dumps(body),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"},
        timeout=300,
    )
    assert answer.status_code == 200, answer.text
    compared = answer.json()
    assert compared["queries"] == 3 and sorted(r["query"] for r in compared["rows"]) == sorted(
        queries
    )
    rbos = [row["rbo"] for row in compared["rows"]]
    assert rbos == sorted(rbos) and all(0 <= r <= 1 for r in rbos)
    assert all(len(row["first"]) == 5 for row in compared["rows"])
    bad = requests.post(
        f"{url}/_esrerank/workbench/api/compare",
        data=json.dumps({**body, "queries": "not a list"}),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"},
    )
    assert bad.status_code == 400
