"""First-stage latency: `Searcher.search(..., rerank=False)` from query text to fused hits
(query embedding, both legs, fusion), warm, per bi-encoder route, routes interleaved.

    python benchmarks/query_latency.py ../shared/data/scifact --index scifact \\
        --out benchmarks/results/query-latency-scifact.md
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from pathlib import Path

import numpy as np
from report import write_report

from esrerank.config import default_data_dir
from esrerank.evaluation.data import load_eval_data
from esrerank.models.runtimes import Runtime
from esrerank.searcher import Searcher

ROUTES = ("torch fp32", "openvino bf16", "openvino fp32")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--index", required=True)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--routes", default=",".join(ROUTES))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    data = load_eval_data(args.folder, args.split)
    texts = random.Random(3).sample(list(data.queries.values()), args.queries)
    routes = args.routes.split(",")
    searchers = {
        route: Searcher(
            None,
            args.index,
            data_dir=args.data_dir or default_data_dir(),
            bi_encoder_runtime=Runtime(*route.split()),
        )
        for route in routes
    }
    for searcher in searchers.values():  # warm: models loaded, index opened
        searcher.search(texts[0], rerank=False)
    seconds: dict[str, list[float]] = {route: [] for route in routes}
    stages: dict[str, dict[str, list[float]]] = {route: {} for route in routes}
    for turn, text in enumerate(texts):
        for route in routes[turn % len(routes) :] + routes[: turn % len(routes)]:
            started = time.perf_counter()
            result = searchers[route].search(text, rerank=False)
            seconds[route].append(time.perf_counter() - started)
            for stage, value in result.timings.items():
                stages[route].setdefault(stage, []).append(value)
    lines = [
        f"First stage on the embedded store, {data.name} ({args.queries} {data.split} queries, "
        f"warm), {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores: query text to fused "
        "top 100 per leg, no rerank. Milliseconds.",
        "",
        "| bi-encoder route | p50 | p95 | embed p50 | retrieve p50 | fusion p50 |",
        "|---|---|---|---|---|---|",
    ]
    for route in routes:
        ms = [1000 * s for s in seconds[route]]
        stage = {k: 1000 * statistics.median(v) for k, v in stages[route].items()}
        lines.append(
            f"| {route} | {statistics.median(ms):.1f} | {np.percentile(ms, 95):.1f} | "
            f"{stage['embed']:.1f} | {stage['retrieve']:.1f} | {stage['fusion']:.1f} |"
        )
    write_report(lines, args.out)
    for searcher in searchers.values():
        searcher.close()


if __name__ == "__main__":
    main()
