"""Ingest throughput of `esrerank ingest` on each backend, measured side by side in one run.

Each backend gets a fresh index and the same corpus through the real command line; the summary
line's passages/s is the figure, with the part of the time spent computing embeddings.

    scripts/engines.sh start
    python benchmarks/ingest_speed.py ../shared/data/scifact/corpus.jsonl \
        --out benchmarks/results/ingest-scifact.md
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BACKENDS = {
    "embedded": "",
    "opensearch": "http://127.0.0.1:9201",
    "elasticsearch": "http://127.0.0.1:9202",
}
SUMMARY = re.compile(
    r"documents=(\d+) passages=(\d+) indexed=(\d+).* seconds=([\d.]+) "
    r"\(embedding ([\d.]+)\) passages/s=([\d.]+)"
)


def ingest(corpus: Path, url: str, index: str, data_dir: str) -> dict[str, float]:
    env = {**os.environ, "ESRERANK_URL": url, "ESRERANK_DATA_DIR": data_dir, "HF_HUB_OFFLINE": "1"}
    command = [
        sys.executable,
        "-m",
        "esrerank",
        "ingest",
        str(corpus),
        "--index",
        index,
        "--recreate",
        "--no-progress",
    ]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    match = SUMMARY.search(output)
    documents, passages, indexed, seconds, embedding, rate = match.groups()
    return {
        "documents": int(documents),
        "passages": int(passages),
        "indexed": int(indexed),
        "seconds": float(seconds),
        "embedding": float(embedding),
        "rate": float(rate),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--out", type=Path, default=None, help="Write a markdown table here.")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as data_dir:
        for name in args.backends.split(","):
            result = ingest(args.corpus, BACKENDS[name], "bench-ingest", data_dir)
            rows.append((name, result))
            print(name, result, flush=True)
    lines = [
        f"Ingest of {args.corpus.name} ({rows[0][1]['documents']} documents), "
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores, default chunking (200/40 "
        "tokens), bi-encoder all-MiniLM-L6-v2 on CPU.",
        "",
        "| backend | passages | seconds | of which embedding | passages/s "
        "| store-only passages/s |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        store = r["passages"] / max(r["seconds"] - r["embedding"], 1e-9)
        lines.append(
            f"| {name} | {r['passages']} | {r['seconds']:.1f} | {r['embedding']:.1f} | "
            f"{r['rate']:.1f} | {store:.0f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            table + "\n\nCommand: `python benchmarks/ingest_speed.py "
            f"{args.corpus} --out {args.out}`\n"
        )


if __name__ == "__main__":
    main()
