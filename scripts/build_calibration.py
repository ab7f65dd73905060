"""Build src/esrerank/models/calibration.jsonl: the (query, passage) pairs that int8 models are
calibrated on (activation ranges for NNCF's post-training quantization).

48 SciFact train claims (never its test claims), each with its first gold abstract and three
abstracts drawn with a fixed seed, passages cut to about 200 words as ingest's chunks are.
SciFact is CC BY-NC 2.0 (Wadden et al. 2020), as is the reranker shipped beside it.

    python scripts/build_calibration.py ../shared/data/scifact src/esrerank/models/calibration.jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

CLAIMS = 48
NEGATIVES = 3
WORDS = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scifact", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    corpus = {}
    with open(args.scifact / "corpus.jsonl", encoding="utf-8") as lines:
        for line in lines:
            doc = json.loads(line)
            corpus[doc["_id"]] = f"{doc['title']}\n" + " ".join(doc["text"].split()[:WORDS])
    with open(args.scifact / "queries.jsonl", encoding="utf-8") as lines:
        queries = {q["_id"]: q["text"] for q in map(json.loads, lines)}
    gold: dict[str, str] = {}
    with open(args.scifact / "qrels" / "train.tsv", encoding="utf-8") as rows:
        for row in csv.DictReader(rows, delimiter="\t"):
            gold.setdefault(row["query-id"], row["corpus-id"])
    rng = random.Random(13)
    ids = sorted(corpus)
    with open(args.out, "w", encoding="utf-8") as out:
        for query_id in list(gold)[:CLAIMS]:
            for doc_id in [gold[query_id], *rng.sample(ids, NEGATIVES)]:
                pair = {"query": queries[query_id], "passage": corpus[doc_id]}
                out.write(json.dumps(pair, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
