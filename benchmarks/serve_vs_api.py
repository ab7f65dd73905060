"""Hybrid + rerank through ``esrerank serve`` against the same search through the Python API in
the benchmark's own process: median and p95 per side, their ratio, and whether the top 10 agree.

The Python side is ``Searcher.search(text, top_k=W, candidates=W, filter=[])`` with W the window
serve uses for a first page (``max(DEFAULT_CANDIDATES, from + size)`` = 100 for ``size`` 10), the
same bi-encoder and reranker (same names and runtime routes; the run stops if serve loaded
another), timed from the call to the top 10 passages. The serve side is ``POST /INDEX/_search
{"query": {"match": {"content": Q}}, "size": 10}`` (the application's request is the lexical leg:
this one is the Python API's own BM25 query) on one persistent connection, timed from the send
to the decoded JSON; its hits are the engine's own, the index's passages. The sides alternate
query by query (API first, then serve first, ...), never at once: the in-process models and the
serve subprocess share the CPU. Both are warmed up first. Agreement: the same top-10 ids in the
same order, and the overlap of the two top-10 sets. serve's own ``took`` is recorded, so client
time minus ``took`` is the HTTP and JSON share. The goal is serve / API <= 1.05 at the median.

Usage:
    python benchmarks/serve_vs_api.py ../shared/data/scifact --url http://127.0.0.1:9201 \\
        --queries 100 --out benchmarks/results/serve-vs-api
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests
from serve_bench import (
    Server,
    add_common_options,
    api_searcher,
    base_result,
    environment,
    environment_lines,
    expect_ok,
    fmt,
    progress,
    ratio,
    served_index,
    summary,
    table,
    test_queries,
    write_results,
)

from esrerank import Searcher
from esrerank.config import DEFAULT_CANDIDATES

GOAL = 1.05  # serve / API at the median
SIZE = 10
WINDOW = max(DEFAULT_CANDIDATES, SIZE)  # serve's window for from 0, size 10 (serve/app.py)


def through_api(searcher: Searcher, text: str) -> tuple[float, list[str], bool]:
    """Seconds, the top-10 passage ids, and whether the hits were reranked."""
    started = time.perf_counter()
    result = searcher.search(text, top_k=WINDOW, candidates=WINDOW, filter=[])
    ids = [hit.passage_id for hit in result.hits[:SIZE]]
    return time.perf_counter() - started, ids, result.reranked


def through_serve(session: requests.Session, url: str, text: str) -> tuple[float, list, bool, int]:
    """Seconds, the top-10 ids, whether reranked, and serve's own ``took`` (ms)."""
    started = time.perf_counter()
    search = {"query": {"match": {"content": text}}, "size": SIZE}
    answer = session.post(url, json=search, timeout=120)
    body = expect_ok(answer, f"POST {url}")
    seconds = time.perf_counter() - started
    ids = [hit["_id"] for hit in body["hits"]["hits"]]
    reranked = answer.headers.get("x-esrerank-reranked") == "true"
    return seconds, ids, reranked, int(body["took"])


def render(result: dict, env: dict, args) -> list[str]:
    api, serve = result["api"], result["serve"]
    agreement = result["agreement"]
    settings = result["settings"]
    lines = [
        f"# esrerank serve against the Python API: hybrid + rerank, {args.data.resolve().name}",
        "",
        f"{settings['queries']} {args.split} queries after {args.warmup} warm-up queries per "
        f"side, alternating query by query, never at once. API: `Searcher.search(text, "
        f"top_k={WINDOW}, candidates={WINDOW}, filter=[])` in the benchmark's process, to the "
        f"top {SIZE} passages; serve: `POST /INDEX/_search` with a `match` on `content`, `size` "
        f"{SIZE}, one persistent connection, to the decoded JSON. Same models, same window "
        f"({WINDOW} per leg, the cross-encoder on the fused top 100). Index: the first "
        f"{settings['documents']} documents ({settings['ingest']}). Milliseconds.",
        "",
        *table(
            ["side", "median", "p95", "mean", "reranked"],
            [
                [
                    "Python API",
                    fmt(api["p50"]),
                    fmt(api["p95"]),
                    fmt(api["mean"]),
                    result["api_reranked"],
                ],
                [
                    "serve",
                    fmt(serve["p50"]),
                    fmt(serve["p95"]),
                    fmt(serve["mean"]),
                    result["serve_reranked"],
                ],
                [
                    "serve / API",
                    fmt(result["ratio_p50"], 3),
                    fmt(result["ratio_p95"], 3),
                    fmt(result["ratio_mean"], 3),
                    "",
                ],
            ],
        ),
        "",
        f"serve's own `took` (median): {fmt(result['took_ms_p50'])} ms; client time minus "
        f"`took` (HTTP, JSON, the answer's shaping; median): {fmt(result['http_ms_p50'])} ms. "
        f"Median difference serve - API: {fmt(result['added_ms_p50'])} ms.",
        "",
        f"Top-10 agreement: {agreement['same_order']}/{agreement['queries']} queries with the "
        f"same ids in the same order, {agreement['same_set']} with the same set; mean overlap "
        f"{agreement['mean_overlap']:.2f} of {SIZE}.",
        "",
        f"Goal (serve / API <= {GOAL} at the median): "
        + ("**held**." if result["goal_met"] else "**not held**."),
        "",
        *environment_lines(env),
    ]
    return lines


def compare(args, searcher: Searcher, server: Server, texts: list[str]):
    """Both sides warmed up, then each query through each side, alternating."""
    progress("loading the models in-process")
    searcher.warm_up()
    labels = {"bi_encoder": searcher.encoder.label, "reranker": searcher.reranker.label}
    if labels != server.health.get("models"):
        raise SystemExit(
            f"in-process models {labels} differ from serve's {server.health.get('models')}"
        )
    url = f"{server.base}/{searcher.index}/_search"
    seconds: dict[str, list[float]] = {"api": [], "serve": []}
    took: list[int] = []
    reranked = {"api": 0, "serve": 0}
    overlaps, same_order = [], 0
    with requests.Session() as session:
        progress(f"warm-up: {args.warmup} queries per side")
        for text in texts[: args.warmup]:
            through_api(searcher, text)
            through_serve(session, url, text)
        progress(f"measuring: {len(texts)} queries per side, alternating")
        for turn, text in enumerate(texts):
            order = ("api", "serve") if turn % 2 == 0 else ("serve", "api")
            ids = {}
            for side in order:
                if side == "api":
                    elapsed, ids[side], done = through_api(searcher, text)
                else:
                    elapsed, ids[side], done, server_ms = through_serve(session, url, text)
                    took.append(server_ms)
                seconds[side].append(elapsed)
                reranked[side] += done
            same_order += ids["api"] == ids["serve"]
            overlaps.append(len(set(ids["api"]) & set(ids["serve"])))
            if (turn + 1) % 25 == 0:
                progress(f"measuring: {turn + 1}/{len(texts)}")
    return seconds, took, reranked, overlaps, same_order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_options(parser, "benchmarks/results/serve-vs-api")
    parser.add_argument("--queries", type=int, default=30, help="the split's first N [30]")
    parser.add_argument("--warmup", type=int, default=5, help="queries per side first [5]")
    args = parser.parse_args()
    texts = test_queries(args.data, args.split, args.queries)
    started = time.perf_counter()
    with served_index(args) as (index, server):
        with api_searcher(args, index) as searcher:
            seconds, took, reranked, overlaps, same_order = compare(args, searcher, server, texts)
        env = environment(server)
    api, serve = summary(seconds["api"]), summary(seconds["serve"])
    http_ms = [1000 * s - t for s, t in zip(seconds["serve"], took, strict=True)]
    result = base_result(
        args, env, texts, index, warmup_per_side=args.warmup, window=WINDOW, size=SIZE
    )
    result |= {
        "api": api,
        "serve": serve,
        "ratio_p50": ratio(serve["p50"], api["p50"]),
        "ratio_p95": ratio(serve["p95"], api["p95"]),
        "ratio_mean": ratio(serve["mean"], api["mean"]),
        "added_ms_p50": serve["p50"] - api["p50"],
        "took_ms_p50": statistics.median(took),
        "http_ms_p50": statistics.median(http_ms),
        "api_reranked": f"{reranked['api']}/{len(texts)}",
        "serve_reranked": f"{reranked['serve']}/{len(texts)}",
        "agreement": {
            "queries": len(texts),
            "same_order": same_order,
            "same_set": sum(1 for o in overlaps if o == SIZE),
            "mean_overlap": statistics.mean(overlaps),
        },
        "wall_seconds": time.perf_counter() - started,
    }
    result["goal_met"] = result["ratio_p50"] <= GOAL
    write_results(args.out, render(result, env, args), result)


if __name__ == "__main__":
    main()
