"""esrerank's client-side fusion against OpenSearch's native hybrid query, side by side.

On one OpenSearch index (with the neural-search plugin), every query runs both ways, in
alternating order: ours fetches the BM25 and kNN legs (100 hits each, one ``_msearch``) and fuses
them with min_max + arithmetic mean 0.5/0.5 in Python; native sends one ``hybrid`` query through
the search pipeline in plugin/opensearch/hybrid-pipeline.json, which fuses the same way in the
engine. Query vectors are computed once beforehand, so both sides time only retrieval + fusion;
both return the passages (without vectors), which reranking needs. After a warm-up, every query
runs ``--rounds`` times per side.
Reported: document-level quality of each, how often the fused top 10 agree, score differences,
and latency p50/p95 with their ratio.

    python benchmarks/native_hybrid.py --url http://127.0.0.1:9201 --beir ../shared/data/scifact \
        --index scifact --out benchmarks/results/native-hybrid-scifact
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from esrerank import FusionSpec, Searcher
from esrerank.evaluation import load_eval_data
from esrerank.evaluation.measures import doc_ranking, evaluate
from esrerank.fusion import fuse_hits

PIPELINE = "esrerank-hybrid"
PIPELINE_FILE = Path(__file__).parents[1] / "plugin" / "opensearch" / "hybrid-pipeline.json"
WARMUP = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="OpenSearch with neural-search")
    parser.add_argument("--beir", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--index", required=True)
    parser.add_argument("--depth", type=int, default=100, help="hits per leg")
    parser.add_argument("--rounds", type=int, default=3, help="times each query runs per side")
    parser.add_argument("--out", type=Path, required=True, help="writes OUT.md and OUT.json")
    args = parser.parse_args()

    data = load_eval_data(args.beir, args.split)
    with Searcher(args.url, args.index) as searcher:
        if not searcher.backend.index_exists(args.index):
            searcher.ingest(data.corpus, progress=True)
        client = searcher.backend.client
        pipeline = json.loads(PIPELINE_FILE.read_text())
        client.request("PUT", f"/_search/pipeline/{PIPELINE}", pipeline)
        ids = list(data.queries)
        vectors = searcher.pipeline.checked_encoder().encode_queries([data.queries[q] for q in ids])
        doc_of = {}
        ours, native = {}, {}
        seconds = {"ours": [], "native": []}
        for number, q in enumerate(tqdm([*ids[:WARMUP], *ids * args.rounds], desc="queries")):
            warm = number < WARMUP
            vector = vectors[ids.index(q)]
            sides = [("ours", _ours), ("native", _native)]
            for side, run in sides if number % 2 else reversed(sides):
                started = time.perf_counter()
                scores, docs = run(searcher, data.queries[q], vector, args.depth)
                elapsed = time.perf_counter() - started
                if not warm:
                    seconds[side].append(elapsed)
                    (ours if side == "ours" else native)[q] = scores
                    doc_of.update(docs)
        backend = f"{searcher.backend.engine} {searcher.backend.version}"
        plugins = client.request("GET", "/_cat/plugins", params={"format": "json"})

    report = _report(args, data, backend, plugins, ours, native, seconds, doc_of)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(_markdown(report))
    print(_markdown(report))


def _ours(searcher: Searcher, text: str, vector, depth: int):
    bm25, knn = searcher.backend.both_legs(searcher.index, text, vector, depth)
    fused = fuse_hits({"bm25": bm25, "dense": knn}, FusionSpec())
    docs = {h.passage.passage_id: h.passage.doc_id for h in (*bm25, *knn)}
    return {pid: fused.scores[pid] for pid in fused.order}, docs


def _native(searcher: Searcher, text: str, vector, depth: int):
    body = {
        "size": depth,
        "_source": {"excludes": ["embedding"]},  # what ours fetches: the passages, for reranking
        "query": {
            "hybrid": {
                "queries": [
                    {"match": {"content": {"query": text}}},
                    {"knn": {"embedding": {"vector": np.asarray(vector).tolist(), "k": depth}}},
                ]
            }
        },
    }
    answer = searcher.backend.client.request(
        "POST", f"/{searcher.index}/_search", body, params={"search_pipeline": PIPELINE}
    )
    hits = answer["hits"]["hits"]
    return {h["_id"]: h["_score"] for h in hits}, {h["_id"]: h["_source"]["doc_id"] for h in hits}


def _report(args, data, backend, plugins, ours, native, seconds, doc_of) -> dict:
    def ranking(scores):
        order = sorted(scores, key=lambda pid: (-scores[pid], pid))
        return doc_ranking([doc_of[pid] for pid in order])

    figures = {
        side: evaluate(data.qrels, {q: ranking(s) for q, s in runs.items()})
        for side, runs in (("ours", ours), ("native", native))
    }
    same_top10, diffs = 0, []
    for q in ours:
        top_ours = sorted(ours[q], key=lambda pid: (-ours[q][pid], pid))[:10]
        top_native = sorted(native[q], key=lambda pid: (-native[q][pid], pid))[:10]
        same_top10 += set(top_ours) == set(top_native)
        diffs += [abs(ours[q][pid] - native[q][pid]) for pid in ours[q] if pid in native[q]]
    latency = {
        side: {
            "p50_ms": 1000 * statistics.median(values),
            "p95_ms": 1000 * float(np.percentile(values, 95)),
        }
        for side, values in seconds.items()
    }
    return {
        "command": "python benchmarks/native_hybrid.py " + " ".join(sys.argv[1:]),
        "data": f"{data.name} split {data.split}: {len(ours)} queries",
        "backend": backend,
        "plugins": sorted({p["component"] for p in plugins}),
        "depth": args.depth,
        "latency_samples_per_side": len(seconds["ours"]),
        "figures": figures,
        "same_top10_share": same_top10 / len(ours),
        "score_difference": {
            "max": max(diffs),
            "median": statistics.median(diffs),
            "share_within_1e-3": float(np.mean(np.array(diffs) <= 1e-3 + 1e-6)),
        },
        "latency": latency,
        "ratio_p50_ours_over_native": latency["ours"]["p50_ms"] / latency["native"]["p50_ms"],
        "ratio_p95_ours_over_native": latency["ours"]["p95_ms"] / latency["native"]["p95_ms"],
        "date": time.strftime("%Y-%m-%d"),
    }


def _markdown(report: dict) -> str:
    lat, fig = report["latency"], report["figures"]
    diff = report["score_difference"]
    rows = [
        f"# Client-side fusion vs OpenSearch native hybrid: {report['data']}",
        "",
        f"{report['backend']} with {', '.join(report['plugins'])}; {report['depth']} hits per "
        f"leg; min_max + arithmetic mean 0.5/0.5 on both sides; latency over "
        f"{report['latency_samples_per_side']} searches per side. {report['date']}.",
        "",
        "```",
        report["command"],
        "```",
        "",
        "| side | nDCG@10 | top-5 acc | MRR@10 | Recall@100 | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for side in ("ours", "native"):
        f = fig[side]
        rows.append(
            f"| {side} | {f['ndcg@10']:.4f} | {f['accuracy@5']:.4f} | {f['mrr@10']:.4f} "
            f"| {f['recall@100']:.4f} | {lat[side]['p50_ms']:.1f} | {lat[side]['p95_ms']:.1f} |"
        )
    rows += [
        "",
        f"- Latency ratio ours / native: p50 {report['ratio_p50_ours_over_native']:.2f}, "
        f"p95 {report['ratio_p95_ours_over_native']:.2f}.",
        f"- Same fused top-10 set: {report['same_top10_share']:.1%} of queries.",
        f"- Fused score of a passage both return: max difference {diff['max']:.2e}, median "
        f"{diff['median']:.2e}; {diff['share_within_1e-3']:.1%} within 1e-3.",
    ]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    main()
