"""The cross-encoder's cost per pair by batch size: does a bigger model call (pairs of several
requests together, or a bigger early-stopping batch) score pairs faster on this CPU?

Real pairs (a query of the split with passages of its fused top 100) are scored in one model call
per batch of each size, the sizes interleaved round by round; reported per size and precision:
the median milliseconds per pair and per call.

    python benchmarks/rerank_batching.py ../shared/data/scifact --index scifact \
        --out benchmarks/results/rerank-batching-scifact.md
"""

from __future__ import annotations

import json
import os
import statistics
import time

from report import judged_split, judged_split_parser, write_report

from esrerank import Searcher
from esrerank.evaluation.runner import retrieve
from esrerank.evaluation.strategies import fused_order
from esrerank.models.reranker import Reranker
from esrerank.models.runtimes import Runtime

SIZES = (1, 4, 8, 16, 32, 64)


def main() -> None:
    parser = judged_split_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--precisions", default="fp32,bf16,int8")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    data, data_dir = judged_split(args)
    precisions = args.precisions.split(",")
    with Searcher(index=args.index, data_dir=data_dir) as searcher:
        fusion = searcher.handle.stored_fusion()
        name = searcher.reranker.name
        runs = retrieve(searcher, data, 100, progress=False)
    pools = []
    for q, run in runs.items():
        texts = {
            h.passage.passage_id: h.passage.content for hits in run.legs.values() for h in hits
        }
        pools.append((data.queries[q], [texts[p] for p in fused_order(run, fusion)[:100]]))
    rerankers = {
        p: Reranker(name, batch_size=max(SIZES), runtime=Runtime("openvino", p)) for p in precisions
    }
    per_pair: dict[str, dict[int, list[float]]] = {p: {s: [] for s in SIZES} for p in precisions}
    turn = 0
    for _ in range(args.rounds):
        for size in SIZES:
            for precision, reranker in rerankers.items():
                for _call in range(4):
                    query, passages = pools[turn % len(pools)]
                    turn += 1
                    started = time.perf_counter()
                    reranker.score(query, passages[:size])  # one model call: size <= batch_size
                    per_pair[precision][size].append((time.perf_counter() - started) / size)
    lines = [
        f"Cross-encoder cost by batch size on {data.name} {data.split} pairs (queries with their "
        f"fused top 100), reranker {name} on OpenVINO, max_length 256, {args.rounds} rounds of 4 "
        f"calls per size, sizes and precisions interleaved, {time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} CPU cores. Median ms per pair (per call).",
        "",
        "| batch | " + " | ".join(precisions) + " |",
        "|---|" + "---|" * len(precisions),
    ]
    for size in SIZES:
        cells = [
            f"{1000 * statistics.median(per_pair[p][size]):.1f} "
            f"({1000 * size * statistics.median(per_pair[p][size]):.0f})"
            for p in precisions
        ]
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    write_report(lines, args.out)
    args.out.with_suffix(".json").write_text(json.dumps(per_pair, indent=1) + "\n")


if __name__ == "__main__":
    main()
