"""``attach`` with a vector per passage (``passages="all"``) against the first passage only
(``passages="first"``), on OpenSearch and Elasticsearch.

For each engine and form, a BEIR corpus is written into a plain index the way an application
would (``name`` = title, ``body`` = text, its own ids), attached, merged into one segment and
evaluated on the test qrels (bm25, dense and the index's default hybrid, no rerank). It reports
the passages given a vector, the attach time (each form embeds into its own cache on the first
engine; the second engine reads every vector from it), nDCG@10 and recall@100 per strategy, the
index size and the median latency of a search without rerank.

Usage:
    python benchmarks/attach_passages.py ../shared/data/scifact \\
        --out benchmarks/results/attach-passages-scifact
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from index_size import merged_bytes

from esrerank import Searcher, __version__
from esrerank.backends import open_backend
from esrerank.backends.schema import ATTACHED_HASH, ATTACHED_PASSAGES
from esrerank.evaluation import evaluate, load_eval_data

FORMS = ("first", "all")
STRATEGIES = ["bm25", "dense", "hybrid"]
BULK_CHUNK = 500
LATENCY_QUERIES = 100
MEASURES = ("ndcg@10", "recall@100")


def create_index(backend, index: str) -> None:
    """A plain application index: one shard, no replica, two text fields."""
    settings = {"number_of_shards": 1, "number_of_replicas": 0}
    if backend.engine == "opensearch":
        settings["knn"] = True
    mappings = {"properties": {"name": {"type": "text"}, "body": {"type": "text"}}}
    body = {"settings": {"index": settings}, "mappings": mappings}
    backend.client.request("PUT", f"/{index}", body)


def write_corpus(backend, index: str, corpus: Path) -> int:
    """Every document of ``corpus`` under its own id, through ``_bulk``; how many."""
    with open(corpus) as lines:
        documents = [json.loads(line) for line in lines if line.strip()]
    for begin in range(0, len(documents), BULK_CHUNK):
        actions = []
        for document in documents[begin : begin + BULK_CHUNK]:
            actions.append({"index": {"_index": index, "_id": str(document["_id"])}})
            actions.append({"name": document.get("title", ""), "body": document.get("text", "")})
        answer = backend.client.request("POST", "/_bulk", ndjson=actions)
        if answer.get("errors"):
            failed = [item for item in answer["items"] if item["index"].get("error")]
            raise RuntimeError(f"_bulk into {index} failed for {len(failed)}: {failed[0]}")
    backend.client.request("POST", f"/{index}/_refresh")
    return len(documents)


def cached_vectors(cache: Path) -> int:
    """Passage embeddings held in an embedding cache file."""
    if not cache.exists():
        return 0
    with sqlite3.connect(cache) as db:
        tables = db.execute("SELECT name FROM sqlite_master WHERE name = 'vectors'").fetchall()
        return db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] if tables else 0


def vector_counts(backend, index: str, form: str) -> tuple[int, int]:
    """(documents with vectors, passages with vectors): one per document for ``first``, the
    nested vectors for ``all``."""
    with_vectors = {"query": {"exists": {"field": ATTACHED_HASH}}}
    documents = int(backend.client.request("POST", f"/{index}/_count", with_vectors)["count"])
    if form == "first":
        return documents, documents
    body = {"size": 0, "aggs": {"passages": {"nested": {"path": ATTACHED_PASSAGES}}}}
    answer = backend.client.request("POST", f"/{index}/_search", body)
    return documents, int(answer["aggregations"]["passages"]["doc_count"])


def measure(engine: str, url: str, form: str, data, work: Path) -> dict:
    """Build, attach, merge, evaluate and time one index; deleted at the end."""
    index = f"attach-bench-{form}-{uuid.uuid4().hex[:8]}"
    cache = work / f"embeddings-{form}.sqlite"
    application = open_backend(url, work / "store")
    row: dict = {"engine": engine, "form": form, "index": index}
    try:
        create_index(application, index)
        row["documents"] = write_corpus(application, index, data.corpus)
        row["engine_version"] = f"{application.engine} {application.version}"
        with Searcher(url, index, data_dir=work / "store", embedding_cache=cache) as searcher:
            before = cached_vectors(cache)
            report = searcher.attach("body", "name", passages=form, progress=False)
            assert report.failed == 0, report.failures[:3]
            row["attach_seconds"] = report.seconds
            row["attach_summary"] = report.summary()
            row["passages_embedded_now"] = cached_vectors(cache) - before
            row["documents_with_vectors"], row["passages_with_vectors"] = vector_counts(
                application, index, form
            )
            row["index_bytes"] = merged_bytes(application, index)
            row["bi_encoder"] = searcher.meta().model
            evaluation = evaluate(searcher, data, STRATEGIES, cache_path=work / "rerank.sqlite")
            row["queries"] = evaluation.queries
            row["fusion"] = evaluation.fusion
            row["figures"] = {
                strategy: {measure: figures[measure] for measure in MEASURES}
                for strategy, figures in evaluation.figures.items()
            }
            seconds = []
            for query in list(data.queries.values())[:LATENCY_QUERIES]:
                started = time.perf_counter()
                searcher.search(query, rerank=False)
                seconds.append(time.perf_counter() - started)
            row["median_query_ms"] = 1000 * statistics.median(seconds)
    finally:
        application.client.request("DELETE", f"/{index}")
        application.close()
    print(json.dumps(row), flush=True)
    return row


def render(rows: list[dict], data: str, command: str) -> str:
    first = rows[0]
    lines = [
        f"# attach: every passage or the first, {data}, {first['queries']} queries",
        "",
        f"Command: `{command}` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores).",
        f"Bi-encoder {first['bi_encoder']}, 200-token passages with 40 overlap; no rerank, "
        f"hybrid is the index's default fusion ({first['fusion']}). Each index was merged into "
        "one segment before it was searched. Attach seconds: the first engine's run of a form "
        'embedded every passage ("embedded now"), the second read them all from that form\'s '
        f"embedding cache. Median query: `search(text, rerank=False)`, first {LATENCY_QUERIES} "
        "test queries, warm.",
        "",
        "| engine | form | passages with vectors | attach seconds (embedded now) | dense nDCG@10 "
        "| dense recall@100 | hybrid nDCG@10 | hybrid recall@100 | bm25 nDCG@10 | index MB "
        "| median query ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        f = row["figures"]
        lines.append(
            f"| {row['engine_version']} | {row['form']} | {row['passages_with_vectors']} | "
            f"{row['attach_seconds']:.0f} ({row['passages_embedded_now']}) | "
            f"{f['dense']['ndcg@10']:.3f} | {f['dense']['recall@100']:.3f} | "
            f"{f['hybrid']['ndcg@10']:.3f} | {f['hybrid']['recall@100']:.3f} | "
            f"{f['bm25']['ndcg@10']:.3f} | {row['index_bytes'] / 1e6:.1f} | "
            f"{row['median_query_ms']:.0f} |"
        )
    return "\n".join([*lines, "", verdict(rows)]) + "\n"


def verdict(rows: list[dict]) -> str:
    """Which form ranks better, by how much on average over the engines, and at what cost."""
    by_form = {form: [row for row in rows if row["form"] == form] for form in FORMS}

    def mean(form: str, strategy: str, measure: str) -> float:
        return statistics.mean(row["figures"][strategy][measure] for row in by_form[form])

    gains = {
        (strategy, measure): mean("all", strategy, measure) - mean("first", strategy, measure)
        for strategy in ("dense", "hybrid")
        for measure in MEASURES
    }
    better = "all" if gains["hybrid", "ndcg@10"] > 0 else "first"
    size = statistics.mean(r["index_bytes"] for r in by_form["all"]) / statistics.mean(
        r["index_bytes"] for r in by_form["first"]
    )
    vectors = (
        by_form["all"][0]["passages_with_vectors"] / by_form["first"][0]["passages_with_vectors"]
    )
    changes = ", ".join(
        f"{strategy} {measure.replace('ndcg', 'nDCG')} {gains[strategy, measure]:+.3f}"
        for strategy, measure in gains
    )
    return (
        f'`passages="{better}"` ranks better on this data. A vector for every passage rather '
        f"than the first changes {changes} (means over the two engines), for {vectors:.2f}x "
        f"the vectors and {size:.2f}x the index size."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", type=Path, help="a BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv"
    )
    parser.add_argument("--out", required=True, help="results prefix: writes PREFIX.md and .json")
    parser.add_argument("--opensearch", default="http://127.0.0.1:9201")
    parser.add_argument("--elasticsearch", default="http://127.0.0.1:9202")
    args = parser.parse_args()
    data = load_eval_data(args.data, "test")
    engines = {"opensearch": args.opensearch, "elasticsearch": args.elasticsearch}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        rows = [
            measure(engine, url, form, data, Path(work))
            for engine, url in engines.items()
            for form in FORMS
        ]
    command = "python " + " ".join(sys.argv)
    result = {
        "command": command,
        "date": time.strftime("%Y-%m-%d"),
        "cores": os.cpu_count(),
        "wall_seconds": time.perf_counter() - started,
        "versions": {
            "esrerank": __version__,
            "bi_encoder": rows[0]["bi_encoder"],
            **{row["engine"]: row["engine_version"] for row in rows},
        },
        "rows": rows,
    }
    Path(f"{args.out}.json").write_text(json.dumps(result, indent=2) + "\n")
    Path(f"{args.out}.md").write_text(render(rows, args.data.name, command))
    print(Path(f"{args.out}.md").read_text())


if __name__ == "__main__":
    main()
