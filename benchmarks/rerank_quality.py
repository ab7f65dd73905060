"""Quality of BM25, the fused hybrid, and hybrid + a cross-encoder on a BEIR split.

Each query runs once through ``Searcher.search`` (100 candidates per leg, the fused top 100
reranked); the BM25 leg, the fused order and the reranked order are each turned into a document
ranking (a document ranks where its best passage does) and scored with trec_eval's measures.

    python benchmarks/rerank_quality.py --beir ../shared/data/scifact --split test \
        --index scifact --data-dir DIR --reranker MODEL --out benchmarks/results/NAME
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from tqdm import tqdm

from esrerank import Searcher
from esrerank.corpus import read_qrels, read_queries
from esrerank.metrics import doc_ranking, evaluate

STAGES = ("bm25", "hybrid", "hybrid+rerank")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beir", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--index", required=True)
    parser.add_argument("--url", default=None)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--reranker", required=True)
    parser.add_argument("--depth", type=int, default=100, help="candidates and rerank depth")
    parser.add_argument("--out", type=Path, required=True, help="writes OUT.md and OUT.json")
    args = parser.parse_args()

    queries = read_queries(args.beir / "queries.jsonl")
    qrels = read_qrels(args.beir / "qrels" / f"{args.split}.tsv")
    rankings: dict[str, dict[str, list[str]]] = {stage: {} for stage in STAGES}
    rerank_seconds = []
    with Searcher(args.url, args.index, data_dir=args.data_dir, reranker=args.reranker) as s:
        for query_id in tqdm(sorted(qrels), desc="queries"):
            result = s.search(
                queries[query_id],
                top_k=args.depth,
                candidates=args.depth,
                rerank_depth=args.depth,
            )
            rankings["bm25"][query_id] = doc_ranking(
                [h.passage.doc_id for h in result.legs["bm25"]]
            )
            rankings["hybrid"][query_id] = doc_ranking(
                [pid.rsplit("#", 1)[0] for pid in result.fused.order]
            )
            rankings["hybrid+rerank"][query_id] = doc_ranking([h.doc_id for h in result.hits])
            rerank_seconds.append(result.timings.get("rerank", 0.0))
        backend = f"{s.backend.engine} {s.backend.version}"
    figures = {stage: evaluate(qrels, rankings[stage]) for stage in STAGES}
    command = "python " + " ".join(
        ["benchmarks/rerank_quality.py", *(_quote(a) for a in __import__("sys").argv[1:])]
    )
    report = {
        "command": command,
        "data": f"{args.beir} split {args.split}: {len(qrels)} queries",
        "backend": backend,
        "reranker": args.reranker,
        "rerank_seconds_median": statistics.median(rerank_seconds),
        "figures": figures,
        "rankings": rankings,
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(_markdown(report))
    print(_markdown(report))


def _markdown(report: dict) -> str:
    rows = [
        f"# {report['data']}",
        "",
        f"Backend {report['backend']}; reranker `{report['reranker']}`; median rerank time "
        f"{report['rerank_seconds_median']:.2f} s per query (100 passages). {report['date']}.",
        "",
        "```",
        report["command"],
        "```",
        "",
        "| strategy | nDCG@10 | top-5 accuracy | MRR@10 | Recall@100 |",
        "|---|---|---|---|---|",
    ]
    for stage, f in report["figures"].items():
        rows.append(
            f"| {stage} | {f['ndcg@10']:.3f} | {f['accuracy@5']:.3f} | {f['mrr@10']:.3f} "
            f"| {f['recall@100']:.3f} |"
        )
    return "\n".join(rows) + "\n"


def _quote(arg: str) -> str:
    return f"'{arg}'" if " " in arg else arg


if __name__ == "__main__":
    main()
