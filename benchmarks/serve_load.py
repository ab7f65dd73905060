"""``esrerank serve`` under a bounded load on loopback: ``--clients`` threads, each with its own
persistent connection, send requests back to back for ``--seconds`` after a warm-up, a mix of
pass-through searches and hybrid + reranked ones; errors, refusals, throughput and latency per
kind, and the server's resident memory over the run.

The warm-up lasts ``--warmup`` seconds and at least until ``--warmup-searches`` hybrid searches
have been answered: the model runtimes keep a bounded cache of compiled kernels per input shape
(esrerank.models.inference), which fills over the first few dozen searches; the window measures the
steady state after it. RSS before the warm-up is reported too.

Kinds: ``hybrid`` is the plain ``match`` on the text field (``size`` 10), which serve answers
itself (BM25 + kNN, fused, reranked); the pass-through share (``--mix``, 0.7) is split evenly
between ``passthrough-match`` (the same body with ``?esrerank=off``) and ``passthrough-aggs``
(``size`` 0 and a ``cardinality`` of ``doc_id`` over the match), which serve sends to the engine
unchanged. Each client draws the kind and the query at random (seeded). An error is any answer
but 200 or 429, or an exception; a 429 (serve's model queue full) counts as refused: serve runs
with ``--rerank-queue`` (64) above the client count, so none is expected. Hybrid answers that
say ``"reranked": false`` are counted too. Memory: the serve process' RSS (with any children's),
sampled every second; the measured window's first and last sample, its maximum and the
least-squares slope. The goal is 0 errors and a flat RSS (end - start under 5% of start).

Usage:
    python benchmarks/serve_load.py ../shared/data/scifact --url http://127.0.0.1:9201 \\
        --clients 8 --seconds 120 --out benchmarks/results/serve-load
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
import psutil
import requests
from serve_bench import (
    HTTP_TIMEOUT,
    Server,
    add_common_options,
    base_result,
    environment,
    environment_lines,
    fmt,
    progress,
    served_index,
    summary,
    table,
    test_queries,
    write_results,
)

KINDS = ("hybrid", "passthrough-match", "passthrough-aggs")
FLAT = 0.05  # end - start, as a share of start
WARMUP_LIMIT = 900  # seconds; a warm-up that never reaches its searches ends the run
MB = 1024 * 1024


@dataclass
class Record:
    kind: str
    started: float  # perf_counter
    seconds: float
    status: int  # 0: an exception
    reranked: bool | None = None
    scored: int | None = None  # passages the cross-encoder scored (X-Esrerank-Rerank-Scored)
    stages: dict | None = None  # serve's Server-Timing: stage -> ms
    query: str = ""
    error: str = ""


def request_for(kind: str, text: str, base: str, index: str) -> tuple[str, dict]:
    query = {"match": {"text": text}}
    if kind == "hybrid":
        return f"{base}/{index}/_search", {"query": query, "size": 10}
    if kind == "passthrough-match":
        return f"{base}/{index}/_search?esrerank=off", {"query": query, "size": 10}
    aggs = {"documents": {"cardinality": {"field": "doc_id"}}}
    return f"{base}/{index}/_search", {"size": 0, "query": query, "aggs": aggs}


def client(
    number: int,
    base: str,
    index: str,
    texts: list[str],
    mix: float,
    stop: threading.Event,
    out: list,
) -> None:
    """Requests back to back until ``stop`` is set; one ``Record`` each, appended to ``out``."""
    draw = random.Random(number)
    with requests.Session() as session:
        while not stop.is_set():
            share = draw.random()
            if share >= mix:
                kind = "hybrid"
            else:
                kind = "passthrough-match" if share < mix / 2 else "passthrough-aggs"
            url, body = request_for(kind, draw.choice(texts), base, index)
            started = time.perf_counter()
            try:
                answer = session.post(url, json=body, timeout=HTTP_TIMEOUT)
                seconds = time.perf_counter() - started
                record = Record(kind, started, seconds, answer.status_code, query=body["query"])
                if answer.status_code == 200 and kind == "hybrid":
                    record.reranked = answer.headers.get("x-esrerank-reranked") == "true"
                    scored = answer.headers.get("x-esrerank-rerank-scored", "")
                    record.scored = int(scored.split("/")[0]) if scored else None
                    record.stages = stage_timings(answer.headers.get("server-timing", ""))
                elif answer.status_code not in (200, 429):
                    record.error = f"HTTP {answer.status_code}: {answer.text[:200]}"
            except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
                record = Record(kind, started, time.perf_counter() - started, 0)
                record.error = f"{type(exc).__name__}: {exc}"[:300]
            out.append(record)


def rerank_memory(pairs: int, records: list[Record], metrics: str) -> dict:
    """serve's ``--rerank-memory``, the scores it recalled over the whole run (/metrics), and
    the share of hybrid searches whose query an earlier hybrid search had sent."""
    seen: set[str] = set()
    repeated = hybrid = 0
    for record in sorted(records, key=lambda r: r.started):
        if record.kind == "hybrid":
            key = json.dumps(record.query, sort_keys=True)
            hybrid += 1
            repeated += key in seen
            seen.add(key)
    recalled = [
        float(line.split()[1])
        for line in metrics.splitlines()
        if line.startswith("esrerank_rerank_scores_recalled ")
    ]
    return {
        "pairs": pairs,
        "recalled": recalled[0] if recalled else None,
        "repeated_share": repeated / hybrid if hybrid else None,
    }


def stage_timings(header: str) -> dict[str, float]:
    """``{"rerank": 231.0, ...}`` from a Server-Timing header (``rerank;dur=231.0, ...``)."""
    stages = {}
    for part in header.split(","):
        name, _, duration = part.strip().partition(";dur=")
        if duration:
            stages[name] = float(duration)
    return stages


def sample_memory(pid: int, stop: threading.Event, samples: list) -> None:
    """(perf_counter, RSS bytes of the process and its children) every second."""
    process = psutil.Process(pid)
    while not stop.is_set():
        try:
            rss = process.memory_info().rss
            rss += sum(child.memory_info().rss for child in process.children(recursive=True))
        except psutil.Error:
            return
        samples.append((time.perf_counter(), rss))
        stop.wait(1.0)


def memory_figures(samples: list[tuple[float, int]], begin: float, end: float) -> dict:
    window = [(t, rss) for t, rss in samples if begin <= t <= end + 1]
    if len(window) < 2:
        return {"samples": len(window)}
    times = np.array([t - window[0][0] for t, _ in window]) / 60
    mb = np.array([rss / MB for _, rss in window])
    slope = float(np.polyfit(times, mb, 1)[0])
    start, last = float(mb[0]), float(mb[-1])
    return {
        "samples": len(window),
        "start_mb": start,
        "end_mb": last,
        "max_mb": float(mb.max()),
        "min_mb": float(mb.min()),
        "growth_mb": last - start,
        "growth_share": (last - start) / start,
        "slope_mb_per_minute": slope,
        "flat": (last - start) / start < FLAT,
        "before_warmup_mb": samples[0][1] / MB,
        "warmup_seconds": begin - samples[0][0],
    }


def figures(records: list[Record], seconds: float) -> dict:
    rows = {}
    for kind in (*KINDS, "all"):
        mine = [r for r in records if kind in ("all", r.kind)]
        ok = [r.seconds for r in mine if r.status == 200]
        rows[kind] = {
            "requests": len(mine),
            "ok": len(ok),
            "errors": sum(1 for r in mine if r.status not in (200, 429)),
            "refused_429": sum(1 for r in mine if r.status == 429),
            "not_reranked": sum(1 for r in mine if r.reranked is False),
            "per_second": len(ok) / seconds,
            "latency_ms": summary(ok),
        }
    scored = [r.scored for r in records if r.scored is not None]
    if scored:
        rows["hybrid"]["scored_median"] = float(np.median(scored))
        rows["hybrid"]["scored_mean"] = float(np.mean(scored))
    timed = [r.stages for r in records if r.stages]
    if timed:
        names = sorted({name for stages in timed for name in stages})
        rows["hybrid"]["stages_median_ms"] = {
            name: float(np.median([s[name] for s in timed if name in s])) for name in names
        }
    return rows


def render(result: dict, env: dict, args) -> list[str]:
    rows, memory, settings = result["kinds"], result["memory"], result["settings"]
    lines = [
        f"# esrerank serve under load, {args.data.resolve().name}",
        "",
        f"{args.clients} client threads on loopback, each with one persistent connection, "
        f"sending back to back for {args.seconds:g} s after a warm-up of at least "
        f"{args.warmup:g} s and {args.warmup_searches} hybrid answers (same load, not counted; "
        "it fills the model runtimes' bounded caches of per-shape kernels); "
        f"{args.mix:g} of the requests pass through (half a `match` with "
        f"`?esrerank=off`, half an aggregation-only search), {1 - args.mix:g} are hybrid + "
        f"reranked (the plain `match`, `size` 10). Queries: {settings['queries']} {args.split} "
        f"queries at random. Index: the first {settings['documents']} documents "
        f"({settings['ingest']}). serve runs with `--rerank-queue {args.rerank_queue}`. "
        "Requests counted: those answered in the measured window. Latency in ms, client side; "
        "a hybrid search's includes its wait for the cross-encoder (one search at a time; the "
        "query's embedding has a queue of its own), "
        "and as each client sends its next request only after the answer, clients waiting there "
        "send no pass-through requests meanwhile."
        + (
            f" The cross-encoder scored a median of {rows['hybrid']['scored_median']:g} "
            f"passages per hybrid search (mean {rows['hybrid']['scored_mean']:.1f}) before its "
            "page of 10 was known."
            if "scored_median" in rows["hybrid"]
            else ""
        )
        + (
            " Medians of serve's stages (Server-Timing, ms) per hybrid search: "
            + ", ".join(
                f"{name} {ms:.1f}" for name, ms in rows["hybrid"]["stages_median_ms"].items()
            )
            + "."
            if "stages_median_ms" in rows["hybrid"]
            else ""
        ),
        "",
        *table(
            [
                "kind",
                "requests",
                "errors",
                "refused (429)",
                "not reranked",
                "req/s",
                "p50",
                "p95",
                "p99",
            ],
            [
                [
                    kind,
                    str(row["requests"]),
                    str(row["errors"]),
                    str(row["refused_429"]),
                    str(row["not_reranked"]) if kind in ("hybrid", "all") else "-",
                    fmt(row["per_second"], 2),
                    fmt(row["latency_ms"]["p50"]),
                    fmt(row["latency_ms"]["p95"]),
                    fmt(row["latency_ms"]["p99"]),
                ]
                for kind, row in rows.items()
            ],
        ),
        "",
    ]
    if memory.get("samples", 0) >= 2:
        lines += [
            f"serve's RSS (every second, {memory['samples']} samples in the window): "
            f"{memory['before_warmup_mb']:.0f} MB before the warm-up (which took "
            f"{memory['warmup_seconds']:.0f} s), {memory['start_mb']:.0f} MB "
            f"at the start of the window, {memory['end_mb']:.0f} MB at its end "
            f"({memory['growth_mb']:+.1f} MB, {100 * memory['growth_share']:+.1f}%), "
            f"max {memory['max_mb']:.0f} MB, slope {memory['slope_mb_per_minute']:+.2f} MB/min "
            f"({60 * memory['slope_mb_per_minute']:+.0f} MB an hour if it kept that pace).",
            "",
        ]
    run = result["whole_run"]
    errors = "**held**" if run["errors"] == 0 else f"**not held** ({run['errors']} errors)"
    flat = memory.get("flat")
    flat_text = "**held**" if flat else "**not held**" if flat is False else "not measured"
    lines += [
        f"Whole run (warm-up, window and the requests in flight at its end): {run['requests']} "
        f"requests, {run['errors']} errors, {run['refused_429']} refused (429).",
        "",
        memory_sentence(result["rerank_memory"]),
        "",
        f"Goal 0 errors (whole run): {errors}. Goal flat RSS (end - start < 5%): {flat_text}.",
    ]
    if result["first_errors"]:
        lines += ["", "First errors:", *(f"- `{e}`" for e in result["first_errors"])]
    lines += ["", *environment_lines(env)]
    return lines


def memory_sentence(kept: dict) -> str:
    repeated = kept["repeated_share"]
    repeats = (
        f"{repeated:.0%} of the run's hybrid searches sent a query an earlier one had sent"
        if repeated is not None
        else "no hybrid search was sent"
    )
    if not kept["pairs"]:
        return f"serve ran with `--rerank-memory 0`: every search ran its pairs ({repeats})."
    return (
        f"serve ran with `--rerank-memory {kept['pairs']}` and answered {kept['recalled']:.0f} "
        f"cross-encoder scores from memory over the run ({repeats})."
    )


def run_load(args, server: Server, index: str, texts: list[str]):
    """The clients' requests and the RSS samples, and where the measured window begins and
    ends (perf_counter): after ``args.warmup`` seconds and ``args.warmup_searches`` hybrid
    answers, whichever comes later."""
    samples: list[tuple[float, int]] = []
    sampled, finished = threading.Event(), threading.Event()
    sampler = threading.Thread(
        target=sample_memory, args=(server.pid, sampled, samples), daemon=True
    )
    sampler.start()
    records: list[Record] = []
    started = time.perf_counter()
    begin = end = None
    progress(
        f"load: {args.clients} clients; warm-up {args.warmup:g} s and {args.warmup_searches} "
        f"hybrid searches, then {args.seconds:g} s"
    )
    threads = [
        threading.Thread(
            target=client, args=(n, server.base, index, texts, args.mix, finished, records)
        )
        for n in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        time.sleep(1)
        now = time.perf_counter()
        answered = sum(1 for r in list(records) if r.kind == "hybrid" and r.status == 200)
        if begin is None and now - started >= args.warmup and answered >= args.warmup_searches:
            begin, end = now, now + args.seconds
            progress(f"warm-up done after {now - started:.0f} s ({answered} hybrid answers)")
        if end is not None and now >= end or begin is None and now - started > WARMUP_LIMIT:
            finished.set()
        if int(now - started) % 10 == 0:
            phase = "warm-up" if begin is None else "draining" if finished.is_set() else "measuring"
            rss = f", RSS {samples[-1][1] / MB:.0f} MB" if samples else ""
            progress(f"{phase}: {len(records)} requests so far{rss}")
    for thread in threads:
        thread.join()
    sampled.set()
    sampler.join()
    return records, samples, begin, end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_options(parser, "benchmarks/results/serve-load")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads [8]")
    parser.add_argument("--seconds", type=float, default=120, help="measured window [120]")
    parser.add_argument(
        "--warmup", type=float, default=15, help="seconds of load before the window, at least [15]"
    )
    parser.add_argument(
        "--warmup-searches",
        type=int,
        default=30,
        help="hybrid answers before the window, at least [30]",
    )
    parser.add_argument(
        "--mix", type=float, default=0.7, help="share of pass-through requests [0.7]"
    )
    parser.add_argument(
        "--rerank-queue",
        type=int,
        default=64,
        help="serve's --rerank-queue, above --clients so none is refused [64]",
    )
    parser.add_argument(
        "--queries", type=int, default=None, help="the split's first N queries [all]"
    )
    args = parser.parse_args()
    if not 0 <= args.mix <= 1:
        parser.error("--mix is a share, 0 to 1")
    if args.rerank_queue < args.clients:
        progress(f"note: --rerank-queue {args.rerank_queue} < --clients: 429s are possible")
    texts = test_queries(args.data, args.split, args.queries)
    started = time.perf_counter()
    with served_index(args, ["--rerank-queue", str(args.rerank_queue)]) as (index, server):
        records, samples, begin, end = run_load(args, server, index.name, texts)
        if begin is None:
            failures = list(dict.fromkeys(r.error for r in records if r.error))[:3]
            raise SystemExit(
                f"the warm-up did not reach {args.warmup_searches} hybrid answers in "
                f"{WARMUP_LIMIT} s; first errors: {failures}"
            )
        env = environment(server, clients=args.clients)
        metrics = requests.get(f"{server.base}/metrics", timeout=HTTP_TIMEOUT).text
    counted = [r for r in records if begin <= r.started + r.seconds < end]
    failures = [r.error for r in records if r.error]
    result = base_result(
        args,
        env,
        texts,
        index,
        clients=args.clients,
        seconds=args.seconds,
        warmup_seconds=args.warmup,
        warmup_searches=args.warmup_searches,
        mix_passthrough=args.mix,
        rerank_queue=args.rerank_queue,
    )
    result |= {
        "kinds": figures(counted, args.seconds),
        "whole_run": {
            "requests": len(records),
            "errors": sum(1 for r in records if r.status not in (200, 429)),
            "refused_429": sum(1 for r in records if r.status == 429),
        },
        "memory": memory_figures(samples, begin, end),
        "rerank_memory": rerank_memory(args.rerank_memory, records, metrics),
        "first_errors": list(dict.fromkeys(failures))[:5],
        "error_kinds": dict(Counter(e.split(":")[0] for e in failures)),
        "wall_seconds": time.perf_counter() - started,
    }
    result["goal_met"] = {
        "no_errors": result["whole_run"]["errors"] == 0,
        "flat_rss": result["memory"].get("flat"),
    }
    write_results(args.out, render(result, env, args), result)


if __name__ == "__main__":
    main()
