"""Filtered search on a BEIR corpus with a seeded keyword field, on every backend.

Each document gets ``category`` (one of four, from a hash of its id) and ``year``; every query
of the test qrels is searched with two filters (a term on the category, a range on the year).
For each backend and filter it reports:
- how many returned hits (final and both legs) break the filter (must be 0);
- how often a filtered leg's top 10 equals that leg's unfiltered ranking restricted to matching
  passages (``DEEP`` hits deep), and how often the filtered final top 10 equals the fusion of the
  restricted unfiltered legs (what the unfiltered pipeline would rank, among matching passages);
- the index size with every field kept and with none (``--keep-fields none``), per backend.

Usage:
    python benchmarks/filtered_search.py ../shared/data/scifact \\
        --out benchmarks/results/filtered-search-scifact
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from index_size import merged_bytes

from esrerank import Searcher
from esrerank.config import DEFAULT_CANDIDATES
from esrerank.corpus import Fields, read_qrels, read_queries
from esrerank.fusion import fuse_hits
from esrerank.types import BM25, DENSE

ENGINES = {"opensearch": "http://127.0.0.1:9201", "elasticsearch": "http://127.0.0.1:9202"}
CATEGORIES = ("biology", "chemistry", "medicine", "physics")
DEEP = 1000
TOP = 10
FILTERS = {
    "term category=medicine": (
        {"term": {"category": "medicine"}},
        lambda f: f.get("category") == "medicine",
    ),
    "range 2010<=year<2015": (
        {"range": {"year": {"gte": 2010, "lt": 2015}}},
        lambda f: 2010 <= f.get("year", 0) < 2015,
    ),
}


def seeded(doc_id: str) -> dict:
    digest = int(hashlib.sha1(doc_id.encode()).hexdigest(), 16)
    return {"category": CATEGORIES[digest % 4], "year": 2000 + digest % 25}


def write_seeded(corpus: Path, out: Path) -> None:
    with open(corpus) as source, open(out, "w") as target:
        for line in source:
            document = json.loads(line)
            document.update(seeded(str(document["_id"])))
            target.write(json.dumps(document, ensure_ascii=False) + "\n")


def ids(hits) -> list[str]:
    return [hit.passage.passage_id for hit in hits[:TOP]]


def index_bytes(searcher: Searcher) -> int:
    """The index's size on disk: the SQLite file after a WAL checkpoint, or the engine's
    primary store once merged into one segment (so the figures compare like with like)."""
    backend, index = searcher.backend, searcher.index
    if backend.engine == "embedded":
        path = Path(backend.location) / f"{index}.sqlite"
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return path.stat().st_size
    return merged_bytes(backend, index)


def measure(name: str, url: str | None, corpus: Path, queries: list[str], store: Path) -> dict:
    cache = store / "embeddings.sqlite"
    row: dict = {"backend": name}
    with Searcher(url, "filtered-bench", data_dir=store, embedding_cache=cache) as searcher:
        try:
            for keep, label in (((), "size_no_fields"), (None, "size_all_fields")):
                report = searcher.ingest(corpus, fields=Fields(keep=keep), recreate=True)
                assert report.failed == 0, report.failures[:3]
                row[label] = index_bytes(searcher)
            row["engine_version"] = f"{searcher.backend.engine} {searcher.backend.version}"
            # one query at a time, as a search encodes it (a batch pads, moving near-ties)
            vectors = [searcher.encoder.encode_queries([query])[0] for query in queries]
            deep_bm25 = searcher.backend.bm25_many(searcher.index, queries, DEEP)
            deep_dense = searcher.backend.dense_many(searcher.index, vectors, DEEP)
            for label, (clause, wanted) in FILTERS.items():
                broken, legs_same, final_same, seconds = 0, {BM25: [], DENSE: []}, [], []
                for i, query in enumerate(queries):
                    started = time.perf_counter()
                    result = searcher.search(query, top_k=TOP, rerank=False, filter=clause)
                    seconds.append(time.perf_counter() - started)
                    every = [*result.hits, *(h for hits in result.legs.values() for h in hits)]
                    broken += sum(not wanted(hit.passage.fields) for hit in every)
                    restricted = {
                        leg: [h for h in deep if wanted(h.passage.fields)][:DEFAULT_CANDIDATES]
                        for leg, deep in ((BM25, deep_bm25[i]), (DENSE, deep_dense[i]))
                    }
                    for leg in (BM25, DENSE):
                        legs_same[leg].append(ids(result.legs[leg]) == ids(restricted[leg]))
                    expected = fuse_hits(restricted, result.fusion).order[:TOP]
                    final_same.append([h.passage_id for h in result.hits] == list(expected))
                row[label] = {
                    "hits_breaking_filter": broken,
                    "bm25_top10_equal": statistics.mean(legs_same[BM25]),
                    "dense_top10_equal": statistics.mean(legs_same[DENSE]),
                    "final_top10_equal": statistics.mean(final_same),
                    "median_ms": 1000 * statistics.median(seconds),
                }
        finally:
            searcher.backend.delete_index(searcher.index)
    return row


def render(rows: list[dict], data: str, queries: int, command: str) -> str:
    lines = [
        f"# Filtered search: {data}, {queries} queries, seeded category and year",
        "",
        f"Command: `{command}` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores).",
        f"Filtered search: top {TOP}, {DEFAULT_CANDIDATES} candidates per leg, no rerank; the "
        f"unfiltered legs are searched {DEEP} deep and restricted to matching passages.",
        "",
        "| backend | filter | hits breaking it | BM25 top 10 = restricted | dense top 10 = "
        "restricted | final top 10 = restricted | median ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for label in FILTERS:
            r = row[label]
            lines.append(
                f"| {row['engine_version']} | {label} | {r['hits_breaking_filter']} | "
                f"{r['bm25_top10_equal']:.1%} | {r['dense_top10_equal']:.1%} | "
                f"{r['final_top10_equal']:.1%} | {r['median_ms']:.0f} |"
            )
    lines += [
        "",
        "Index size with the documents' other fields kept (`--keep-fields all`, the "
        "default) and without (`--keep-fields none`):",
        "",
        "| backend | no fields | all fields | growth |",
        "|---|---|---|---|",
    ]
    for row in rows:
        a, b = row["size_no_fields"], row["size_all_fields"]
        lines.append(
            f"| {row['engine_version']} | {a / 1e6:.2f} MB | {b / 1e6:.2f} MB | {b / a - 1:+.2%} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", type=Path, help="a BEIR folder: corpus.jsonl, queries.jsonl, qrels/"
    )
    parser.add_argument("--out", required=True, help="results prefix: writes PREFIX.md and .json")
    parser.add_argument("--backends", default="embedded,opensearch,elasticsearch")
    args = parser.parse_args()
    qrels = read_qrels(args.data / "qrels" / "test.tsv")
    all_queries = read_queries(args.data / "queries.jsonl")
    queries = [all_queries[qid] for qid in qrels if qid in all_queries]
    with tempfile.TemporaryDirectory() as work:
        corpus = Path(work) / "corpus.jsonl"
        write_seeded(args.data / "corpus.jsonl", corpus)
        rows = [
            measure(name, ENGINES.get(name), corpus, queries, Path(work) / "store")
            for name in args.backends.split(",")
        ]
    command = "python " + " ".join(sys.argv)
    Path(f"{args.out}.json").write_text(json.dumps(rows, indent=2) + "\n")
    Path(f"{args.out}.md").write_text(render(rows, args.data.name, len(queries), command))
    print(Path(f"{args.out}.md").read_text())


if __name__ == "__main__":
    main()
