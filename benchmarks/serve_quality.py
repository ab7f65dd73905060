"""Quality through ``esrerank serve`` on a public set: the hybrid answer to a plain ``match``
body against the Python API's, and ``rerank`` mode against the engine's own order.

For each judged query Q, with ``{"query": {"match": {"content": Q}}}`` (the Python API's own BM25
query, so both sides run the same legs):

- the Python API: ``Searcher.search(Q, top_k=100, candidates=100)``;
- serve, ``hybrid`` mode (the default);
- serve, ``?esrerank_mode=rerank``: the engine's own hits, reordered;
- the engine itself (BM25, the application's order before esrerank).

Each ranking is cut to documents (a document at its best passage) and scored with trec_eval's
nDCG@10 and MRR@10. The goal: serve's hybrid nDCG@10 within 0.001 of the Python API's.

Usage:
    python benchmarks/serve_quality.py ../shared/data/scifact --url http://127.0.0.1:9201 \\
        --documents 6000 --queries 100 --out benchmarks/results/serve-quality-scifact
"""

from __future__ import annotations

import argparse
import time

import requests
from serve_bench import (
    add_common_options,
    api_searcher,
    base_result,
    environment,
    environment_lines,
    expect_ok,
    fmt,
    progress,
    served_index,
    table,
    test_queries,
    write_results,
)

from esrerank import Searcher
from esrerank.evaluation import load_eval_data
from esrerank.evaluation.measures import doc_ranking, evaluate

GOAL = 0.001  # |serve hybrid - API| in nDCG@10
PAGE = 40  # passages asked for: enough for ten distinct documents
SIDES = ("api", "hybrid", "rerank", "engine")
LABELS = {
    "api": "Python API (hybrid + rerank)",
    "hybrid": "serve, hybrid",
    "rerank": "serve, rerank mode",
    "engine": "the engine alone (BM25)",
}


def through_http(session: requests.Session, url: str, text: str, params: dict) -> list[str]:
    body = {"query": {"match": {"content": text}}, "size": PAGE, "_source": ["doc_id"]}
    answer = expect_ok(session.post(url, params=params, json=body, timeout=300), f"POST {url}")
    return doc_ranking([hit["_source"]["doc_id"] for hit in answer["hits"]["hits"]])


def rankings(args, searcher: Searcher, base: str, texts: dict[str, str]) -> dict:
    """Every query through every side, one after the other."""
    found: dict[str, dict[str, list[str]]] = {side: {} for side in SIDES}
    serve_url = f"{base}/{searcher.index}/_search"
    engine_url = f"{args.url}/{searcher.index}/_search"
    with requests.Session() as session:
        for number, (query_id, text) in enumerate(texts.items(), start=1):
            hits = searcher.search(text, top_k=100, candidates=100).hits
            found["api"][query_id] = doc_ranking([hit.doc_id for hit in hits])
            found["hybrid"][query_id] = through_http(session, serve_url, text, {})
            rerank = {"esrerank_mode": "rerank"}
            found["rerank"][query_id] = through_http(session, serve_url, text, rerank)
            found["engine"][query_id] = through_http(session, engine_url, text, {})
            if number % 10 == 0:
                progress(f"queries: {number}/{len(texts)}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_options(parser, "benchmarks/results/serve-quality-scifact")
    parser.add_argument("--queries", type=int, default=100, help="the split's first N [100]")
    args = parser.parse_args()
    data = load_eval_data(args.data, args.split)
    chosen = test_queries(args.data, args.split, args.queries)
    texts = {q: t for q, t in data.queries.items() if t in set(chosen)}
    started = time.perf_counter()
    with served_index(args) as (index, server):
        with api_searcher(args, index) as searcher:
            searcher.warm_up()
            found = rankings(args, searcher, server.base, texts)
        env = environment(server)
    qrels = {q: data.qrels[q] for q in texts}
    scores = {side: evaluate(qrels, found[side], (10,)) for side in SIDES}
    same = sum(found["api"][q][:10] == found["hybrid"][q][:10] for q in texts)
    result = base_result(args, env, list(texts.values()), index, page=PAGE)
    result |= {
        "scores": scores,
        "same_top10": same,
        "difference": scores["hybrid"]["ndcg@10"] - scores["api"]["ndcg@10"],
        "wall_seconds": time.perf_counter() - started,
    }
    result["goal_met"] = abs(result["difference"]) <= GOAL
    lines = [
        f"# Quality through esrerank serve: {args.data.resolve().name}",
        "",
        f"{len(texts)} {args.split} queries, the first {index.ingested} documents; each a "
        '`{"query": {"match": {"content": Q}}}` (the Python API\'s own BM25 query), ranked '
        "documents (each at its best passage).",
        "",
        *table(
            ["side", "nDCG@10", "MRR@10"],
            [[LABELS[s], fmt(scores[s]["ndcg@10"], 4), fmt(scores[s]["mrr@10"], 4)] for s in SIDES],
        ),
        "",
        f"serve hybrid - Python API: {result['difference']:+.4f} nDCG@10 (goal: within "
        f"{GOAL}): " + ("**held**" if result["goal_met"] else "**not held**") + f"; the same "
        f"top 10 documents in the same order on {same}/{len(texts)} queries.",
        "",
        *environment_lines(env),
    ]
    write_results(args.out, lines, result)


if __name__ == "__main__":
    main()
