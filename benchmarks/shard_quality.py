"""Whether results depend on an index's shard count: one BEIR data set ingested into 1 and into
3 primaries on one engine, its test queries searched on each (BM25, dense, hybrid; nDCG@10 and
the top-10 overlap with the single shard), the lexical leg with its whole-index term statistics
(``dfs_query_then_fetch``, esrerank's default) and with each shard's own (the engines' default
``query_then_fetch``), and what the statistics cost: the BM25 leg's latency both ways on the
3-primary index, interleaved query by query.

    python benchmarks/shard_quality.py --url http://127.0.0.1:9201 ../shared/data/scifact \\
        --out benchmarks/results/shard-quality-scifact-opensearch

Both indices come from one embedding pass (the embedding cache). The reranker is left out: it
only sees the first stage's pool, so where the pool is the same, so is its order.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from report import write_report
from serve_bench import table

from esrerank import Searcher, Shards
from esrerank.evaluation import load_eval_data
from esrerank.evaluation.runner import retrieve, score
from esrerank.fusion import FusionSpec
from esrerank.workbench.overlap import jaccard

STRATEGIES = ["bm25", "dense", "hybrid"]
CANDIDATES = 100


def per_shard_statistics(searcher: Searcher) -> None:
    """Make this searcher's lexical leg run as the engines do by default (each shard scoring
    with its own term statistics): the alternative measured here, not a product setting."""
    backend = searcher.backend
    lexical = backend._bm25_search
    backend._bm25_search = lambda *args: ({}, lexical(*args)[1])


def measured(searcher: Searcher, data) -> tuple[dict, dict]:
    runs = retrieve(searcher, data, CANDIDATES, progress=False)
    return score(data, runs, STRATEGIES, FusionSpec(), depth=CANDIDATES)


def bm25_latency(exact: Searcher, per_shard: Searcher, queries: list[str]) -> dict[str, float]:
    """Median ms of one BM25 leg both ways, alternating query by query (after one warm pass)."""
    times: dict[str, list[float]] = {"dfs_query_then_fetch": [], "query_then_fetch": []}
    for measuring in (False, True):
        for query in queries:
            for name, searcher in (
                ("dfs_query_then_fetch", exact),
                ("query_then_fetch", per_shard),
            ):
                started = time.perf_counter()
                searcher.backend.bm25(searcher.index, query, CANDIDATES)
                if measuring:
                    times[name].append(1000 * (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--url", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--data-dir", type=Path, default=Path(".esrerank/bench"))
    parser.add_argument("--out", type=Path, required=True, help="writes OUT.md and OUT.json")
    args = parser.parse_args()
    data = load_eval_data(args.folder, args.split)
    cache = args.data_dir / "cache" / "embeddings.sqlite"
    rows, rankings, layouts = [], {}, {}
    for primaries in (1, 3):
        index = f"shard-quality-{args.folder.name}-{primaries}"
        options = {"data_dir": args.data_dir, "embedding_cache": cache}
        searcher = Searcher(args.url, index, **options)
        report = searcher.ingest(data.corpus, recreate=True, shards=Shards(primaries, 0))
        print(f"{index}: {report.summary()}")
        layouts[primaries] = searcher.backend.shards(index)
        per_shard = Searcher(args.url, index, **options)
        per_shard_statistics(per_shard)
        ways = [("dfs_query_then_fetch", searcher), ("query_then_fetch", per_shard)]
        for way, used in ways if primaries > 1 else ways[:1]:
            figures, ranked = measured(used, data)
            rankings[(primaries, way)] = ranked
            rows.append(
                {
                    "primaries": primaries,
                    "bm25 statistics": way,
                    **{s: figures[s]["ndcg@10"] for s in STRATEGIES},
                }
            )
        if primaries > 1:
            latency = bm25_latency(searcher, per_shard, list(data.queries.values()))
    single = rankings[(1, "dfs_query_then_fetch")]
    for row in rows:
        ranked = rankings[(row["primaries"], row["bm25 statistics"])]
        for s in STRATEGIES:
            row[f"{s} top-10 overlap"] = statistics.mean(
                jaccard(single[s][q][:10], ranked[s][q][:10]) for q in single[s]
            )
    engine = f"{searcher.backend.engine} {searcher.backend.version}"
    lines = [
        f"# Results against the shard count: {args.folder.name}, {engine}",
        "",
        f"{len(data.queries)} {args.split} queries, {CANDIDATES} candidates per leg, one node, "
        "no replicas. nDCG@10, and the mean Jaccard overlap of each query's top 10 documents "
        "with the single shard's:",
        "",
        *table(
            ["primaries", "BM25 statistics", *STRATEGIES, *(f"{s} overlap" for s in STRATEGIES)],
            [
                [
                    str(row["primaries"]),
                    row["bm25 statistics"],
                    *(f"{row[s]:.4f}" for s in STRATEGIES),
                    *(f"{row[f'{s} top-10 overlap']:.3f}" for s in STRATEGIES),
                ]
                for row in rows
            ],
        ),
        "",
        f"The BM25 leg on 3 primaries, median of {len(data.queries)} queries each way, "
        "alternating: " + ", ".join(f"{way} {ms:.1f} ms" for way, ms in latency.items()),
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_report(lines, args.out.with_suffix(".md"))
    args.out.with_suffix(".json").write_text(
        json.dumps(
            {
                "engine": engine,
                "rows": rows,
                "bm25_latency_ms": latency,
                "layouts": {k: vars(v) for k, v in layouts.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
