"""Reranking speed and agreement per runtime route, side by side in one run.

The pools are real: each query's fused top DEPTH (min_max 0.5/0.5) from an index `esrerank
ingest` built. Every route scores the same (query, passage) pairs:

- `sentence-transformers defaults`: `CrossEncoder(model, max_length=256).predict(pairs)` with
  predict's defaults (batch 32, pairs in pool order), the baseline the speed-up is measured on;
- every `esrerank` route (`Reranker(..., runtime=Runtime(backend, precision))`: length-sorted
  batches of 16).

Speed: `--timed` seeded queries, each scored by every route in turn (the order rotates from
query to query), after one untimed warm-up query per route; the median seconds per query. Agreement
with fp32 (torch): the share of queries whose top 5 is the same list, the same set, and
nDCG@10 of the reranked pool, on `--checked` routes over every query of the split (scores are
cached under the data dir, so a second run only times).

    esrerank ingest ../shared/data/scifact/corpus.jsonl --index scifact --runtime torch
    python benchmarks/rerank_speed.py ../shared/data/scifact --split test --index scifact \\
        --out benchmarks/results/rerank-speed-scifact
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from pathlib import Path

import numpy as np

from esrerank.config import default_data_dir
from esrerank.evaluation.data import load_eval_data
from esrerank.evaluation.measures import evaluate
from esrerank.evaluation.runner import retrieve
from esrerank.evaluation.strategies import QueryRun, document_ranking, fused_order
from esrerank.fusion import FusionSpec
from esrerank.models.cache import DiskCache, cache_key
from esrerank.models.hub import OFFLINE_CROSS_ENCODER, resolve_model
from esrerank.models.reranker import Reranker
from esrerank.models.runtimes import Runtime
from esrerank.searcher import Searcher

BASELINE = "sentence-transformers defaults"
REFERENCE = "torch fp32"
ROUTES = (
    "torch fp32",
    "torch bf16",
    "onnx fp32",
    "onnx int8",
    "openvino fp32",
    "openvino bf16",
    "openvino int8",
)
MAX_LENGTH = 256


def baseline_scorer(model: str):
    from sentence_transformers import CrossEncoder

    encoder = CrossEncoder(str(resolve_model(model, "cross-encoder")), max_length=MAX_LENGTH)
    return lambda query, passages: np.asarray(
        encoder.predict([(query, p) for p in passages], show_progress_bar=False)
    )


def route_scorer(model: str, route: str):
    reranker = Reranker(model, max_length=MAX_LENGTH, runtime=Runtime(*route.split()))
    assert reranker.runtime.describe() == route, f"{route} fell back to {reranker.label}"
    return lambda query, passages: reranker.score(query, passages).scores


def add_pool_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that pick the queries and their pools (shared with cpu_peak.py)."""
    parser.add_argument("folder", type=Path, help="BEIR folder (corpus.jsonl, queries, qrels)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--index", required=True)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--max-queries", type=int, default=None, help="seeded sample to check")
    parser.add_argument("--timed", type=int, default=20, help="queries timed per route")


def load_pools(args, data_dir: Path, depth: int):
    """The split's queries (a seeded sample with ``--max-queries``) and their pools, retrieved
    with the bi-encoder at fp32 (torch), as the index was built."""
    data = load_eval_data(args.folder, args.split)
    if args.max_queries:
        data = data.sample(args.max_queries, seed=7)
    with Searcher(
        None, args.index, data_dir=data_dir, bi_encoder_runtime=Runtime("torch", "fp32")
    ) as searcher:
        return data, pools(searcher, data, depth)


def pools(searcher: Searcher, data, depth: int) -> dict[str, tuple[str, list, QueryRun]]:
    """Per query: its text, the fused top ``depth`` passages, and its legs."""
    runs = retrieve(searcher, data, depth, progress=False)
    out = {}
    for q, run in runs.items():
        passages = {h.passage.passage_id: h.passage for hits in run.legs.values() for h in hits}
        order = fused_order(run, FusionSpec())[:depth]
        out[q] = (data.queries[q], [passages[pid] for pid in order], run)
    return out


def top5_agreement(scores: dict, reference: dict) -> tuple[float, float]:
    same_list = same_set = 0
    for q, ref in reference.items():
        mine, theirs = _top5(scores[q]), _top5(ref)
        same_list += list(mine) == list(theirs)
        same_set += set(mine) == set(theirs)
    return same_list / len(reference), same_set / len(reference)


def timed_queries(ids: list[str], count: int) -> list[str]:
    return random.Random(11).sample(ids, min(count, len(ids)))


def _top5(scores: np.ndarray) -> list[int]:
    return list(np.argsort(-scores, kind="stable")[:5])


def ndcg(data, query_pools: dict, scores: dict) -> float:
    rankings = {}
    for q, (_, pool, run) in query_pools.items():
        order = np.argsort(-scores[q], kind="stable")
        rankings[q] = document_ranking(run, [pool[i].passage_id for i in order])
    qrels = {q: data.qrels[q] for q in rankings}
    return evaluate(qrels, rankings)["ndcg@10"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_pool_arguments(parser)
    parser.add_argument("--model", default=OFFLINE_CROSS_ENCODER)
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--routes", default=",".join(ROUTES))
    parser.add_argument(
        "--checked",
        default="torch fp32,openvino int8,openvino bf16,onnx int8",
        help="routes whose agreement is measured on every query",
    )
    parser.add_argument("--out", type=Path, required=True, help="writes OUT.md and OUT.json")
    args = parser.parse_args()
    data_dir = args.data_dir or default_data_dir()
    data, query_pools = load_pools(args, data_dir, args.depth)
    routes = args.routes.split(",")
    checked = [r for r in args.checked.split(",") if r in routes]
    scorers = {BASELINE: baseline_scorer(args.model)}
    scorers.update({route: route_scorer(args.model, route) for route in routes})
    ids = sorted(query_pools)
    timed = timed_queries(ids, args.timed)

    names = list(scorers)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    sample_scores: dict[str, dict[str, np.ndarray]] = {name: {} for name in names}
    for name in names:  # warm-up, untimed
        text, pool, _ = query_pools[ids[0]]
        scorers[name](text, [p.content for p in pool])
    for turn, q in enumerate(timed):
        text, pool, _ = query_pools[q]
        contents = [p.content for p in pool]
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            started = time.perf_counter()
            sample_scores[name][q] = scorers[name](text, contents)
            seconds[name].append(time.perf_counter() - started)
        print(f"timed {turn + 1}/{len(timed)}", flush=True)

    cache = DiskCache(data_dir / "cache" / "rerank-speed.sqlite", "scores")
    full_scores: dict[str, dict[str, np.ndarray]] = {}
    for route in checked:
        full_scores[route] = {}
        for number, q in enumerate(ids):
            text, pool, _ = query_pools[q]
            key = cache_key(args.model, route, text, *[p.content for p in pool])
            stored = cache.get_many([key])
            if key in stored:
                full_scores[route][q] = np.frombuffer(stored[key], dtype=np.float64)
                continue
            scores = np.asarray(scorers[route](text, [p.content for p in pool]), np.float64)
            cache.put_many([(key, scores.tobytes())])
            full_scores[route][q] = scores
            if number % 50 == 0:
                print(f"{route}: {number}/{len(ids)}", flush=True)
    cache.close()

    reference = full_scores.get(REFERENCE, sample_scores[REFERENCE])
    base = statistics.median(seconds[BASELINE])
    rows = []
    for name in names:
        median = statistics.median(seconds[name])
        full = name in full_scores
        scores = full_scores[name] if full else sample_scores[name]
        ref = reference if full else {q: sample_scores[REFERENCE][q] for q in timed}
        same_list, same_set = top5_agreement(scores, ref)
        pool_subset = {q: query_pools[q] for q in scores}
        rows.append(
            {
                "route": name,
                "median_seconds": median,
                "p90_seconds": float(np.percentile(seconds[name], 90)),
                "speedup_vs_baseline": base / median,
                "pairs_per_second": args.depth / median,
                "top5_same_list": same_list,
                "top5_same_set": same_set,
                "ndcg10": ndcg(data, pool_subset, scores),
                "ndcg10_fp32": ndcg(data, pool_subset, ref),
                "agreement_queries": len(scores),
            }
        )
    write(args, data, rows, len(timed), len(ids))


def write(args, data, rows: list[dict], timed: int, checked: int) -> None:
    header = (
        f"Reranking {args.depth} passages per query on {data.name} {data.split} "
        f"({checked} queries), model {args.model}, max_length {MAX_LENGTH}, "
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores. Speed: median of {timed} "
        "queries per route, routes interleaved. Agreement with torch fp32: top 5 the same "
        "list / the same set, nDCG@10 of the reranked pool (over all queries where 'queries' "
        f"says {checked}, else over the timed ones)."
    )
    lines = [
        header,
        "",
        "| route | median s/query | p90 | × vs ST defaults | pairs/s | top-5 same list | "
        "top-5 same set | nDCG@10 | fp32 nDCG@10 | queries |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['route']} | {r['median_seconds']:.3f} | {r['p90_seconds']:.3f} | "
            f"{r['speedup_vs_baseline']:.2f} | {r['pairs_per_second']:.0f} | "
            f"{r['top5_same_list']:.3f} | {r['top5_same_set']:.3f} | {r['ndcg10']:.4f} | "
            f"{r['ndcg10_fp32']:.4f} | {r['agreement_queries']} |"
        )
    command = "python benchmarks/rerank_speed.py " + " ".join(
        f"'{a}'" if " " in a else a for a in os.sys.argv[1:]
    )
    text = "\n".join(lines) + f"\n\nCommand: `{command}`\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(text)
    payload = {"command": command, "header": header, "rows": rows}
    args.out.with_suffix(".json").write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
