"""Memory of `esrerank ingest` on a large JSONL file: resident memory (RSS) of the process,
sampled four times a second, while it checks the whole file and then indexes it.

The file is the source corpus repeated under new ids until it reaches `--size-gb`. Embedding a
gigabyte takes days on two cores, so each run is stopped (Ctrl-C) after `--seconds`; by then the
whole file has been read once (the check pass) and indexing has run for a while, and the table
shows how many passages were stored. `--before SRC` runs the same command with another checkout's
`src` folder first on the path (the code before a change), side by side.

    python benchmarks/ingest_memory.py ../shared/data/scifact/corpus.jsonl --size-gb 1 \
        --out benchmarks/results/ingest-memory.md
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from report import write_report

from esrerank.corpus import open_corpus

MARKS = (5, 15, 30, 60, 120, 180, 300)  # seconds at which the table shows RSS


def build_file(source: Path, target: Path, size: int) -> int:
    """Write ``source``'s documents again and again under new ids until ``size`` bytes."""
    documents = [{"_id": r.doc_id, "title": r.title, "text": r.text} for r in open_corpus(source)]
    written = count = 0
    with target.open("w", encoding="utf-8") as out:
        for copy in range(10**9):
            for doc in documents:
                line = json.dumps({**doc, "_id": f"{doc['_id']}-{copy}"}) + "\n"
                written += out.write(line)
                count += 1
            if written >= size:
                return count
    return count


def run(corpus: Path, data_dir: Path, seconds: float, src: Path | None) -> dict:
    env = {**os.environ, "ESRERANK_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    command = [sys.executable, "-m", "esrerank", "ingest", str(corpus), "--index", "big"]
    process = subprocess.Popen(
        [*command, "--no-progress"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    watched = psutil.Process(process.pid)
    started = time.perf_counter()
    samples: list[tuple[float, int]] = []
    while process.poll() is None and time.perf_counter() - started < seconds:
        try:
            samples.append((time.perf_counter() - started, watched.memory_info().rss))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.25)
    process.send_signal(signal.SIGINT)
    stderr = process.communicate(timeout=600)[1].decode(errors="replace")
    index = data_dir / "big.sqlite"
    stored = 0
    if index.exists():
        with sqlite3.connect(index) as db:
            stored = db.execute("SELECT count(*) FROM passages").fetchone()[0]
    return {"samples": samples, "stored": stored, "stderr": stderr.strip()[-300:]}


def at(samples: list[tuple[float, int]], mark: float) -> str:
    before = [rss for moment, rss in samples if moment <= mark]
    return f"{before[-1] / 2**20:,.0f}" if before and samples[-1][0] >= mark else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--before", type=Path, default=None, help="src folder of older code")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        big = Path(folder) / "big.jsonl"
        documents = build_file(args.corpus, big, int(args.size_gb * 2**30))
        size = big.stat().st_size
        print(f"{big}: {size / 2**30:.2f} GiB, {documents} documents", flush=True)
        runs = {}
        for name, src in (("before", args.before), ("now", None)):
            if name == "before" and src is None:
                continue
            runs[name] = run(big, Path(folder) / name, args.seconds, src)
            print(name, runs[name]["stored"], runs[name]["stderr"], flush=True)
    marks = [m for m in MARKS if m <= args.seconds]
    lines = [
        f"`esrerank ingest` of a {size / 2**30:.2f} GiB JSONL ({documents:,} documents: "
        f"{args.corpus.name} repeated under new ids) into the embedded store, stopped after "
        f"{args.seconds:.0f} s; resident memory in MiB, {time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} CPU cores.",
        "",
        "| code | "
        + " | ".join(f"RSS at {m} s" for m in marks)
        + " | peak RSS | passages stored |",
        "|---|" + "---|" * (len(marks) + 2),
    ]
    for name, result in runs.items():
        samples = result["samples"]
        peak = max(rss for _, rss in samples) / 2**20
        label = "before (whole file read first)" if name == "before" else "streaming reader"
        cells = " | ".join(at(samples, m) for m in marks)
        lines.append(f"| {label} | {cells} | {peak:,.0f} | {result['stored']:,} |")
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
