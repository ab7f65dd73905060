"""Rebuild examples/sample/ from BEIR SciFact (Wadden et al. 2020, CC BY-NC 2.0).

The sample keeps the gold abstracts of the first 120 SciFact *train* queries (by id) plus 180
other abstracts chosen with a fixed seed: 300 documents. Those train queries are split into
100 for building the quickstart reranker (train-queries.jsonl) and 20 to try (queries.jsonl),
each with qrels. No SciFact test query or qrel is used.

    python examples/build_sample.py /path/to/scifact examples/sample
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path


def main(source: Path, target: Path) -> None:
    corpus = {d["_id"]: d for d in map(json.loads, (source / "corpus.jsonl").open())}
    queries = {q["_id"]: q for q in map(json.loads, (source / "queries.jsonl").open())}
    qrels: dict[str, list[str]] = {}
    for line in (source / "qrels" / "train.tsv").read_text().splitlines()[1:]:
        query_id, doc_id, _ = line.split("\t")
        qrels.setdefault(query_id, []).append(doc_id)
    chosen = sorted(qrels, key=int)[:120]
    gold = {doc_id for query_id in chosen for doc_id in qrels[query_id]}
    others = sorted(set(corpus) - gold)
    docs = sorted(gold | set(random.Random(7).sample(others, 300 - len(gold))), key=int)
    target.mkdir(parents=True, exist_ok=True)
    with (target / "corpus.jsonl").open("w") as out:
        for doc_id in docs:
            doc = corpus[doc_id]
            out.write(
                json.dumps({"_id": doc_id, "title": doc["title"], "text": doc["text"]}) + "\n"
            )
    for name, part in (("train-queries", chosen[:100]), ("queries", chosen[100:])):
        with (target / f"{name}.jsonl").open("w") as out:
            for query_id in part:
                out.write(json.dumps({"_id": query_id, "text": queries[query_id]["text"]}) + "\n")
        with (target / f"{name}.qrels.tsv").open("w") as out:
            out.write("query-id\tcorpus-id\tscore\n")
            for query_id in part:
                out.writelines(f"{query_id}\t{doc_id}\t1\n" for doc_id in qrels[query_id])


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
