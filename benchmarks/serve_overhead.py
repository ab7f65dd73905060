"""``esrerank serve``'s pass-through overhead: the same ``_search`` sent straight to the engine
and through serve, which passes it on unchanged, p50/p95 per side and their ratio.

Two kinds of search, each over the split's queries in turn: a BM25 ``match`` on the text field
(``size`` 10), sent to serve with ``?esrerank=off`` so that it goes to the engine as it is, and an
aggregation-only search (``size`` 0, a ``cardinality`` of ``doc_id`` over the same ``match``),
which serve always passes on. Both ask ``request_cache=false`` so the engine does the work every
time. Two more sides are references: the same search through a bare TCP relay (``tcp_relay.py``,
a process that only copies bytes: the least any process in front of the engine adds on this
machine) and through a minimal Python HTTP proxy on serve's own stack (``minimal_proxy.py``:
uvicorn and aiohttp with none of serve's work). Each side has one persistent connection (a
``requests.Session``); the sides take turns request by request (the order turning each time),
after a warm-up in which serve's answer is checked to be the engine's. The index is the
benchmark's own: the corpus' first ``--documents`` documents, ingested through the Python API,
deleted at the end. The goal is serve / direct <= 1.1 at p50.

Usage:
    python benchmarks/serve_overhead.py ../shared/data/scifact --url http://127.0.0.1:9201 \\
        --requests 500 --out benchmarks/results/serve-overhead
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests
from serve_bench import (
    BenchIndex,
    add_common_options,
    base_result,
    environment,
    environment_lines,
    expect_ok,
    fmt,
    free_port,
    post,
    progress,
    ratio,
    served_index,
    summary,
    table,
    test_queries,
    write_results,
)

GOAL = 1.1  # serve / direct at p50
KINDS = ("match", "aggregation")
SIDES = ("direct", "relay", "minimal", "serve")
RELAY = Path(__file__).with_name("tcp_relay.py")
MINIMAL_PROXY = Path(__file__).with_name("minimal_proxy.py")
FIGURES = ("p50", "added p50", "ratio p50")  # of each reference side in the table


def body_of(kind: str, text: str) -> dict:
    query = {"match": {"text": text}}
    if kind == "match":
        return {"query": query, "size": 10}
    return {"size": 0, "query": query, "aggs": {"documents": {"cardinality": {"field": "doc_id"}}}}


@contextlib.contextmanager
def beside(script: Path, engine: str) -> Iterator[str]:
    """``script ENGINE PORT`` (a relay or proxy in front of ``engine``) in a subprocess, once it
    accepts connections; yields its URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(script), engine, str(port)])
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{script.name} exited with {process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{script.name} did not listen within 60 s") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def urls(kind: str, bases: dict[str, str], index: str) -> dict[str, str]:
    """Each side's URL: serve answers a plain match itself unless told ``esrerank=off``."""
    opt_out = "&esrerank=off" if kind == "match" else ""
    return {
        side: f"{base}/{index}/_search?request_cache=false{opt_out if side == 'serve' else ''}"
        for side, base in bases.items()
    }


def same_answer(kind: str, direct: dict, served: dict) -> bool:
    """Serve passed the search on: the engine's hits or aggregation."""
    if kind == "aggregation":
        return direct["aggregations"] == served["aggregations"]
    ids = [hit["_id"] for hit in direct["hits"]["hits"]]
    return ids == [hit["_id"] for hit in served["hits"]["hits"]]


def measure(kind: str, targets: dict[str, str], texts: list[str], args) -> dict:
    """Warm up (checking serve's answers), then ``args.requests`` per side, taking turns."""
    sessions = {side: requests.Session() for side in targets}
    try:
        progress(f"{kind}: warm-up, {args.warmup} requests per side")
        for turn in range(args.warmup):
            body = body_of(kind, texts[turn % len(texts)])
            answers = {
                side: expect_ok(post(sessions[side], url, body)[1], f"{kind} {side} {url}")
                for side, url in targets.items()
            }
            if not same_answer(kind, answers["direct"], answers["serve"]):
                raise SystemExit(f"{kind}: serve's answer is not the engine's for {body}")
        progress(f"{kind}: measuring, {args.requests} requests per side, taking turns")
        seconds: dict[str, list[float]] = {side: [] for side in targets}
        started = time.perf_counter()
        for turn in range(args.requests):
            body = body_of(kind, texts[turn % len(texts)])
            shift = turn % len(SIDES)
            for side in SIDES[shift:] + SIDES[:shift]:
                elapsed, answer = post(sessions[side], targets[side], body)
                expect_ok(answer, f"{kind} {side} {targets[side]}")
                seconds[side].append(elapsed)
        wall = time.perf_counter() - started
    finally:
        for session in sessions.values():
            session.close()
    figures = {side: summary(values) for side, values in seconds.items()}
    row = {
        "kind": kind,
        **figures,
        "ratio_p95": ratio(figures["serve"]["p95"], figures["direct"]["p95"]),
        "wall_seconds": wall,
    }
    for side in SIDES[1:]:
        row[f"{side}_ratio_p50"] = ratio(figures[side]["p50"], figures["direct"]["p50"])
        row[f"{side}_added_ms_p50"] = figures[side]["p50"] - figures["direct"]["p50"]
    row["goal_met"] = row["serve_ratio_p50"] <= GOAL
    progress(
        f"{kind}: direct p50 {row['direct']['p50']:.2f} ms; "
        + "; ".join(
            f"{side} {row[side]['p50']:.2f} ms ({row[f'{side}_ratio_p50']:.2f}x)"
            for side in SIDES[1:]
        )
    )
    return row


def render(rows: list[dict], env: dict, args, index: BenchIndex, queries: int) -> list[str]:
    held = all(row["goal_met"] for row in rows)
    lines = [
        f"# esrerank serve: pass-through overhead, {args.data.resolve().name}",
        "",
        f"The same `_search` straight to the engine and through `esrerank serve`, which passes it "
        f"on unchanged: {args.requests} requests per side and kind after {args.warmup} warm-up "
        f"requests, the sides taking turns request by request, one persistent connection each. "
        f"Queries: the first {queries} {args.split} queries in turn. Index: the first "
        f'{index.ingested} documents ({index.report}). match = `{{"query": {{"match": '
        f'{{"text": Q}}}}, "size": 10}}` (to serve with `?esrerank=off`); aggregation = '
        f"`size` 0 and a `cardinality` of `doc_id` over the same match (serve passes any "
        "aggregation on); both with `request_cache=false`. Milliseconds, client side (send to "
        "last byte read). References: relay, the same search through a bare TCP relay "
        "(`tcp_relay.py`, a process that only copies bytes: the least any process in front of "
        "the engine adds here); minimal, through a minimal Python HTTP proxy on serve's stack "
        "(`minimal_proxy.py`: uvicorn and aiohttp, none of serve's work).",
        "",
        *table(
            [
                "kind",
                "direct p50",
                "direct p95",
                "serve p50",
                "serve p95",
                "added p50",
                "ratio p50",
                "ratio p95",
                f"p50 ratio <= {GOAL}",
                *(f"{side} {figure}" for side in SIDES[1:3] for figure in FIGURES),
            ],
            [
                [
                    row["kind"],
                    fmt(row["direct"]["p50"], 2),
                    fmt(row["direct"]["p95"], 2),
                    fmt(row["serve"]["p50"], 2),
                    fmt(row["serve"]["p95"], 2),
                    fmt(row["serve_added_ms_p50"], 2),
                    fmt(row["serve_ratio_p50"], 2),
                    fmt(row["ratio_p95"], 2),
                    "yes" if row["goal_met"] else "no",
                    *(
                        fmt(value, 2)
                        for side in SIDES[1:3]
                        for value in (
                            row[side]["p50"],
                            row[f"{side}_added_ms_p50"],
                            row[f"{side}_ratio_p50"],
                        )
                    ),
                ]
                for row in rows
            ],
        ),
        "",
        f"Goal (serve / direct <= {GOAL}x at p50, every kind): "
        + ("**held**." if held else "**not held**."),
        "",
        *environment_lines(env),
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_options(parser, "benchmarks/results/serve-overhead")
    parser.add_argument("--requests", type=int, default=500, help="per side and kind [500]")
    parser.add_argument("--warmup", type=int, default=50, help="per side and kind [50]")
    parser.add_argument(
        "--queries", type=int, default=None, help="the split's first N queries [all]"
    )
    args = parser.parse_args()
    texts = test_queries(args.data, args.split, args.queries)
    started = time.perf_counter()
    with (
        served_index(args) as (index, server),
        beside(RELAY, args.url) as relay,
        beside(MINIMAL_PROXY, args.url) as minimal,
    ):
        bases = {"direct": args.url, "relay": relay, "minimal": minimal, "serve": server.base}
        rows = []
        for kind in KINDS:
            targets = urls(kind, bases, index.name)
            rows.append(measure(kind, targets, texts, args))
        env = environment(server)
    result = base_result(
        args,
        env,
        texts,
        index,
        requests_per_side=args.requests,
        warmup_per_side=args.warmup,
    )
    result |= {
        "goal": f"serve / direct <= {GOAL} at p50",
        "goal_met": all(row["goal_met"] for row in rows),
        "rows": rows,
        "wall_seconds": time.perf_counter() - started,
    }
    write_results(args.out, render(rows, env, args, index, len(texts)), result)


if __name__ == "__main__":
    main()
