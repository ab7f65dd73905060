"""The reranked hybrid at every rerank weight: nDCG@10 (per document) of the final order
``w · min_max(rerank) + (1 − w) · min_max(fused)`` over the fused top `--rerank-depth`, for
w = 0, 0.1, ..., 1, on one split of a judged data set. w = 0 is the fused order (`--no-rerank`),
w = 1 the cross-encoder alone (the order before interpolation existed). Cross-encoder scores are
computed once and cached (`DATA_DIR/cache/rerank-scores.sqlite`), as `esrerank eval` does.

    python benchmarks/rerank_weight.py ../shared/data/scifact --index scifact \
        --out benchmarks/results/rerank-weight-scifact.md
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from report import write_report

from esrerank import Searcher
from esrerank.config import default_data_dir
from esrerank.evaluation.data import load_eval_data
from esrerank.evaluation.runner import add_rerank_scores, retrieve
from esrerank.evaluation.strategies import document_ranking, ranking
from esrerank.metrics import evaluate

WEIGHTS = tuple(round(w / 10, 1) for w in range(11))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--index", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--bi-encoder", default=None, help="the index's bi-encoder, if not default")
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--rerank-depth", type=int, default=100)
    parser.add_argument("--max-queries", type=int, default=None, help="a seeded sample")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    data_dir = args.data_dir or default_data_dir()
    data = load_eval_data(args.folder, args.split)
    if args.max_queries is not None and args.max_queries < len(data.queries):
        data = data.sample(args.max_queries, seed=13)
    options = {"bi_encoder": args.bi_encoder} if args.bi_encoder else {}
    with Searcher(index=args.index, data_dir=data_dir, **options) as searcher:
        fusion = searcher.handle.stored_fusion()
        runs = retrieve(searcher, data, args.candidates, progress=True)
        cache = data_dir / "cache" / "rerank-scores.sqlite"
        strategies = ["hybrid+rerank"]
        add_rerank_scores(searcher, data, runs, strategies, fusion, args.rerank_depth, cache, True)
        reranker = searcher.reranker.label
    rows, results = [], {}
    for weight in WEIGHTS:
        rankings = {
            q: document_ranking(
                run, ranking("hybrid+rerank", run, fusion, args.rerank_depth, weight)
            )
            for q, run in runs.items()
        }
        figures = evaluate(data.qrels, rankings)
        results[weight] = figures
        rows.append(
            f"| {weight:g} | {figures['ndcg@10']:.4f} | {figures['mrr@10']:.4f} | "
            f"{figures['accuracy@5']:.3f} |"
        )
    lines = [
        f"Reranked hybrid at each rerank weight w on {data.name} {data.split} ({len(runs)} "
        f"queries), index '{args.index}' (fusion {fusion.describe()}), reranker {reranker}, "
        f"depth {args.rerank_depth}, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores.",
        "",
        "| w | nDCG@10 | MRR@10 | top-5 accuracy |",
        "|---|---|---|---|",
        *rows,
        "",
        f"Reranked: {sum(1 for run in runs.values() if run.rerank)} of {len(runs)} queries "
        "(the others failed the reranker's vocabulary check and keep the fused order).",
    ]
    write_report(lines, args.out)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
