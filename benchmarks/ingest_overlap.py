"""End-to-end ingest against embedding alone, side by side in one run: how much of the bi-encoder's
throughput `Searcher.ingest` keeps once reading, chunking and writes to the embedded store are
added (they run beside the embedding, not after it).

The first `--documents` documents of the corpus are written to a sample file and chunked once.
Each round then (in alternating order) embeds every passage of the sample with the same encoder,
in the groups an ingest batch makes, and ingests the sample into a fresh index; the figures are
medians over rounds, in passages/s.

    python benchmarks/ingest_overlap.py ../shared/data/scifact/corpus.jsonl \
        --out benchmarks/results/ingest-overlap-scifact.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from itertools import islice
from pathlib import Path

from report import write_report

from esrerank import Searcher
from esrerank.corpus import ChunkSpec, chunk_record, open_corpus
from esrerank.indexing.ingest import DOCS_PER_BATCH
from esrerank.models.bi_encoder import BiEncoder
from esrerank.models.runtimes import Runtime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--documents", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--route", default="auto auto", help="backend and precision")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    encoder = BiEncoder(runtime=Runtime(*args.route.split()))
    records = list(islice(open_corpus(args.corpus), args.documents))
    groups = [
        [
            p.content
            for r in records[begin : begin + DOCS_PER_BATCH]
            for p in chunk_record(r, encoder.token_spans, ChunkSpec())
        ]
        for begin in range(0, len(records), DOCS_PER_BATCH)
    ]
    passages = sum(len(group) for group in groups)
    encoder.encode(groups[0][:32])  # warm-up
    rates: dict[str, list[float]] = {"embedding only": [], "ingest": []}
    with tempfile.TemporaryDirectory() as folder:
        sample = Path(folder) / "sample.jsonl"
        with sample.open("w", encoding="utf-8") as out:
            for r in records:
                out.write(json.dumps({"_id": r.doc_id, "title": r.title, "text": r.text}) + "\n")
        for turn in range(args.rounds):
            order = ["embedding only", "ingest"][:: 1 if turn % 2 == 0 else -1]
            for name in order:
                started = time.perf_counter()
                if name == "embedding only":
                    for group in groups:
                        encoder.encode(group)
                else:
                    with Searcher(
                        data_dir=Path(folder) / "data", index=f"round-{turn}", bi_encoder=encoder
                    ) as searcher:
                        report = searcher.ingest(sample)
                    assert report.indexed == passages, report
                rates[name].append(passages / (time.perf_counter() - started))
                print(name, f"{rates[name][-1]:.1f} passages/s", flush=True)
    embed, ingest = (statistics.median(rates[name]) for name in ("embedding only", "ingest"))
    lines = [
        f"Ingest of the first {len(records)} documents of {args.corpus.name} ({passages} "
        f"passages) into the embedded store against embedding the same passages alone, "
        f"bi-encoder {encoder.label}, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores, "
        f"median of {args.rounds} rounds.",
        "",
        "| run | passages/s (median) | rounds |",
        "|---|---|---|",
        *(
            f"| {name} | {statistics.median(values):.1f} | "
            f"{', '.join(f'{v:.1f}' for v in values)} |"
            for name, values in rates.items()
        ),
        "",
        f"End-to-end ingest keeps {ingest / embed:.1%} of embedding-only throughput.",
    ]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
