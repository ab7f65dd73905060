"""The reranked hybrid at every rerank weight, under two final-score formulas side by side:
nDCG@10 (per document) over the fused top `--rerank-depth`, for w = 0, 0.1, ..., 1, on one split
of a judged data set.

- bounded (esrerank's): ``w · p + (1 − w) · min_max(fused)``, ``p`` the cross-encoder's
  probability, the order `esrerank query` and `eval` give (``esrerank.fusion.final_order``);
- pool min_max (the formula before): ``w · min_max(p) + (1 − w) · min_max(fused)``, both
  normalized over the pool, computed here for the comparison.

w = 0 is the fused order (`--no-rerank`), w = 1 the cross-encoder alone. Cross-encoder scores
are computed once and cached (`DATA_DIR/cache/rerank-scores.sqlite`), as `esrerank eval` does.

    python benchmarks/rerank_weight.py ../shared/data/scifact --index scifact \
        --out benchmarks/results/rerank-weight-scifact.md
"""

from __future__ import annotations

import json
import os
import time

from report import judged_split, judged_split_parser, write_report

from esrerank import Searcher
from esrerank.evaluation.measures import evaluate, evaluate_per_query
from esrerank.evaluation.runner import add_rerank_scores, retrieve
from esrerank.evaluation.strategies import document_ranking, ranking
from esrerank.fusion import fuse_hits
from esrerank.fusion.normalize import min_max

WEIGHTS = tuple(round(w / 10, 1) for w in range(11))
FORMULAS = ("bounded", "pool min_max")


def pool_min_max_order(run, fusion, depth: int, weight: float) -> list[str]:
    """The formula before: both scores min-max normalized over the fused top ``depth``."""
    fused_hits = fuse_hits(run.legs, fusion)
    order = list(fused_hits.order)
    pool = order[:depth]
    if weight == 0 or not run.rerank:
        return order
    fused = min_max({p: fused_hits.scores[p] for p in pool})
    rerank = min_max({p: run.rerank[p] for p in pool})
    final = {p: weight * rerank[p] + (1 - weight) * fused[p] for p in pool}
    ranked = sorted(range(len(pool)), key=lambda i: (-final[pool[i]], i))
    return [pool[i] for i in ranked] + order[depth:]


def paired_t(differences: list[float]) -> float:
    """Mean difference over its standard error; |t| > 1.96 is beyond chance at 5%."""
    n = len(differences)
    mean = sum(differences) / n
    spread = (sum((d - mean) ** 2 for d in differences) / max(1, n - 1)) ** 0.5
    return 0.0 if spread == 0 else mean / (spread / n**0.5)


def main() -> None:
    parser = judged_split_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--bi-encoder", default=None, help="the index's bi-encoder, if not default")
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--rerank-depth", type=int, default=100)
    args = parser.parse_args()
    data, data_dir = judged_split(args)
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
        orders = {
            "bounded": lambda run, w=weight: ranking(
                "hybrid+rerank", run, fusion, args.rerank_depth, w
            ),
            "pool min_max": lambda run, w=weight: pool_min_max_order(
                run, fusion, args.rerank_depth, w
            ),
        }
        cells, per_query = [], {}
        for formula in FORMULAS:
            rankings = {q: document_ranking(run, orders[formula](run)) for q, run in runs.items()}
            figures = evaluate(data.qrels, rankings)
            per_query[formula] = evaluate_per_query(data.qrels, rankings, cutoffs=(10,))
            results.setdefault(formula, {})[weight] = figures
            cells.append(f"{figures['ndcg@10']:.4f} | {figures['mrr@10']:.4f}")
        gains = [
            per_query["bounded"][q]["ndcg@10"] - per_query["pool min_max"][q]["ndcg@10"]
            for q in per_query["bounded"]
        ]
        rows.append(f"| {weight:g} | {' | '.join(cells)} | {paired_t(gains):+.2f} |")
    lines = [
        f"Reranked hybrid at each rerank weight w on {data.name} {data.split} ({len(runs)} "
        f"queries), index '{args.index}' (fusion {fusion.describe()}), reranker {reranker}, "
        f"depth {args.rerank_depth}, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores.",
        "",
        "| w | bounded nDCG@10 | bounded MRR@10 | pool min_max nDCG@10 | pool min_max MRR@10 "
        "| paired t (bounded − pool min_max, nDCG@10) |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"Reranked: {sum(1 for run in runs.values() if run.rerank)} of {len(runs)} queries "
        "(the others failed the reranker's vocabulary check and keep the fused order).",
    ]
    write_report(lines, args.out)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
