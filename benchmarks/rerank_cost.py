"""What reranking costs and what it answers, per precision and weight, side by side in one run.

For each query of one split of a judged data set and each rerank weight, `esrerank query`'s own
path (``SearchPipeline.search``, top 5) runs with the bundled reranker on OpenVINO fp32, bf16,
int8 and bf16-checked (bf16, with what its error leaves in doubt scored again at fp32); every few
queries the whole pool (the fused top 100) is also scored at fp32, which is what every reranked
query cost before early stopping. Reported, per weight and route:

- passages the cross-encoder scored per query, and the rerank stage's and the whole query's
  time (medians, p95);
- how often its final top 5 equals that of full-pool fp32 scoring under the same formula (from
  cached full-pool scores, through the same ``final_order``): early stopping alone must give 100%;
  for bf16-checked, how often the top 5 the query returned equals full-pool fp32's;
- nDCG@10 of its full final order (what `esrerank eval` reports), beside the formula used before
  (``w · min_max(p) + (1 − w) · min_max(fused)`` over the pool, fp32).

    python benchmarks/rerank_cost.py ../shared/data/scifact --index scifact \
        --out benchmarks/results/rerank-cost-scifact.md
"""

from __future__ import annotations

import json
import os
import statistics
import time

from report import judged_split, judged_split_parser, write_report
from rerank_weight import pool_min_max_order

from esrerank import Searcher
from esrerank.evaluation.measures import evaluate
from esrerank.evaluation.runner import add_rerank_scores, retrieve
from esrerank.evaluation.strategies import QueryRun, document_ranking, ranking
from esrerank.models.reranker import Reranker
from esrerank.models.runtimes import CHECKED, Runtime

PRECISIONS = ("fp32", "bf16", "int8", CHECKED)
TOP_K = 5
DEPTH = 100


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = judged_split_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default="0.2,0.5,1")
    parser.add_argument("--precisions", default=",".join(PRECISIONS))
    parser.add_argument("--full-pool-every", type=int, default=3, help="time full fp32 scoring")
    args = parser.parse_args()
    data, data_dir = judged_split(args)
    weights = [float(w) for w in args.weights.split(",")]
    precisions = args.precisions.split(",")
    cache = data_dir / "cache" / "rerank-scores.sqlite"
    with Searcher(index=args.index, data_dir=data_dir) as searcher:
        fusion = searcher.handle.stored_fusion()
        name = searcher.reranker.name
        rerankers = {p: Reranker(name, runtime=Runtime("openvino", p)) for p in precisions}
        legs = retrieve(searcher, data, 100, progress=True)
        full: dict[str, dict[str, QueryRun]] = {}
        for precision, reranker in rerankers.items():
            searcher.pipeline.reranker_choice = reranker
            full[precision] = {q: QueryRun(run.legs) for q, run in legs.items()}
            add_rerank_scores(
                searcher, data, full[precision], ["hybrid+rerank"], fusion, DEPTH, cache, True
            )
        figures = quality(data, full, fusion, weights)
        timed = timings(searcher, data, rerankers, weights, args.full_pool_every)
    lines = report(args, data, name, fusion, weights, figures, timed)
    write_report(lines, args.out)
    args.out.with_suffix(".json").write_text(
        json.dumps({"quality": figures, "timings": timed}, indent=1) + "\n"
    )


def quality(data, full, fusion, weights) -> dict:
    """Per weight and precision: the final top 5 and nDCG@10 from full-pool scores, and how
    often the top 5 equals fp32's; the formula used before, at fp32."""
    figures: dict = {}
    for weight in weights:
        tops, row = {}, {}
        for precision, runs in full.items():
            orders = {
                q: ranking("hybrid+rerank", run, fusion, DEPTH, weight) for q, run in runs.items()
            }
            tops[precision] = {q: order[:TOP_K] for q, order in orders.items()}
            docs = {q: document_ranking(runs[q], order) for q, order in orders.items()}
            row[precision] = {
                "ndcg@10": evaluate(data.qrels, docs)["ndcg@10"],
                "top5": tops[precision],
            }
        for precision in full:
            same = sum(tops[precision][q] == tops["fp32"][q] for q in tops["fp32"])
            row[precision]["same_top5_as_fp32"] = same / len(tops["fp32"])
        before = {
            q: document_ranking(run, pool_min_max_order(run, fusion, DEPTH, weight))
            for q, run in full["fp32"].items()
        }
        row["before"] = {"ndcg@10": evaluate(data.qrels, before)["ndcg@10"]}
        figures[weight] = row
    return figures


def timings(searcher, data, rerankers, weights, every: int) -> dict:
    """`query`'s path for every query, weight and precision, interleaved; full-pool fp32
    scoring every ``every``-th query."""
    timed: dict = {"full_pool_fp32": []}
    pipeline = searcher.pipeline
    for number, (q, text) in enumerate(data.queries.items()):
        if number % every == 0:
            pipeline.reranker_choice = rerankers["fp32"]
            result = pipeline.search(text, top_k=DEPTH, rerank_weight=weights[0])
            timed["full_pool_fp32"].append(result.timings.get("rerank", 0.0))
        for weight in weights:
            for precision, reranker in rerankers.items():
                pipeline.reranker_choice = reranker
                started = time.perf_counter()
                result = pipeline.search(text, top_k=TOP_K, rerank_weight=weight)
                total = time.perf_counter() - started
                entry = timed.setdefault(f"{weight:g} {precision}", [])
                entry.append(
                    {
                        "query": q,
                        "rerank": result.timings.get("rerank", 0.0),
                        "total": total,
                        "scored": result.rerank_scored,
                        "checked": result.rerank_checked,
                        "top5": [h.passage_id for h in result.hits],
                    }
                )
        if number % 25 == 0:
            print(f"timed {number + 1}/{len(data.queries)}", flush=True)
    return timed


def report(args, data, name, fusion, weights, figures, timed) -> list[str]:
    full_pool = statistics.median(timed["full_pool_fp32"])
    lines = [
        f"Reranking cost and answers on {data.name} {data.split} ({len(data.queries)} queries), "
        f"embedded store, index '{args.index}' (fusion {fusion.describe()}), reranker {name} "
        f"on OpenVINO, top {TOP_K} of a pool of {DEPTH}, {time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} CPU cores.",
        "",
        f"Full-pool fp32 scoring (every query before early stopping), timed on "
        f"{len(timed['full_pool_fp32'])} queries: rerank stage median "
        f"{1000 * full_pool:.0f} ms.",
        "",
        "| w | route | passages scored (median / mean) | rerank stage p50 / p95 ms "
        "| faster than full fp32 | query p50 / p95 ms | final top 5 = full-pool fp32 "
        "| top 5 = this route's full pool | nDCG@10 | scored again at fp32 (mean) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for weight in weights:
        row = figures[weight]
        lines.append(
            f"| {weight:g} | before: pool min_max, fp32, all {DEPTH} | {DEPTH} / {DEPTH} "
            f"| {1000 * full_pool:.0f} | 1.0× | | | | {row['before']['ndcg@10']:.4f} | |"
        )
        for precision in figures[weight]:
            if precision == "before":
                continue
            runs = timed[f"{weight:g} {precision}"]
            scored = [r["scored"] for r in runs]
            rerank = [r["rerank"] for r in runs]
            total = [r["total"] for r in runs]
            exact = sum(r["top5"] == row[precision]["top5"][r["query"]] for r in runs) / len(runs)
            # a checked route's full-pool scores are fp32's: what it returned is the measure
            same = exact if precision == CHECKED else row[precision]["same_top5_as_fp32"]
            checked = statistics.mean(r["checked"] for r in runs)
            lines.append(
                f"| {weight:g} | {precision}, early stopping | {statistics.median(scored):g} / "
                f"{statistics.mean(scored):.1f} | {1000 * statistics.median(rerank):.0f} / "
                f"{1000 * percentile(rerank, 0.95):.0f} | "
                f"{full_pool / statistics.median(rerank):.1f}× | "
                f"{1000 * statistics.median(total):.0f} / {1000 * percentile(total, 0.95):.0f} | "
                f"{same:.1%} | {exact:.1%} | {row[precision]['ndcg@10']:.4f} | {checked:.1f} |"
            )
    lines += [
        "",
        'Routes: the same cross-encoder exported to OpenVINO at each precision. "final top 5 = '
        "full-pool fp32\" compares the route's full-pool final order with fp32's; \"top 5 = "
        "this route's full pool\" compares what the early-stopped query returned with the "
        "route's own full-pool order (exactness of early stopping on real queries). "
        "bf16-checked scores at bf16 and again at fp32 where bf16's error bound leaves the "
        "top 5 in doubt: its full-pool scores are fp32's, so both columns compare the top 5 it "
        "returned with full-pool fp32's, and its nDCG@10 is fp32's order, which it returns "
        "wherever the bound holds. nDCG@10 is per document over the full final order, as "
        "`esrerank eval` reports it.",
    ]
    for weight in figures:
        for row in figures[weight].values():
            row.pop("top5", None)
    return lines


if __name__ == "__main__":
    main()
