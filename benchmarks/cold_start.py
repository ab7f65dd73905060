"""Cold start of `esrerank query`: a fresh process per query, its wall time split into the
query's own stages (embed, retrieve, rerank: the `timings` of `--json`) and the rest (imports,
model loading), and which heavy libraries it imported. Exported models are cached beforehand
(one warm-up run per command), so the figure is a user's second query, not the first.
Each `--code LABEL=PYTHON[:SRC]` is an install to compare: an interpreter (a virtualenv's python)
and optionally a checkout's `src` folder put first on its path (the code before a change); the
runs of one command alternate between them; medians.

    python benchmarks/cold_start.py --index scifact \
        --code "before=python:/tmp/before/src" --code "now=python" \
        --code "now, torch-free install=/tmp/venv-light/bin/python" \
        --out benchmarks/results/cold-start.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

from report import write_report

HEAVY = ("torch", "sentence_transformers", "transformers", "scipy", "matplotlib", "pytrec_eval")
PROBE = """
import atexit, sys
def report():
    heavy = [m for m in {heavy!r} if m in sys.modules]
    print("PROBE " + ",".join(heavy), file=sys.stderr)
atexit.register(report)
sys.argv = ["esrerank", *{args!r}]
from esrerank.cli import main
main()
"""
COMMANDS = {
    "query --no-rerank": ["--no-rerank"],
    "query (reranked)": [],
    "query (reranked), torch fp32": ["--runtime", "torch", "--precision", "fp32"],
}


def run(args: list[str], code: str) -> tuple[float, float, str] | None:
    """``(wall seconds, seconds in the query's stages, heavy modules imported)``, or ``None``
    when the command fails with that install."""
    python, _, src = code.partition(":")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if src:
        env["PYTHONPATH"] = src
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-c", PROBE.format(heavy=HEAVY, args=args)],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        return None
    stages = sum(json.loads(done.stdout)["timings"].values())
    heavy = done.stderr.rsplit("PROBE ", 1)[1].strip()
    return wall, stages, heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--query", default="vitamin D deficiency and bone fractures")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--code", action="append", required=True, help="LABEL=PYTHON[:SRC]")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    codes = dict(code.split("=", 1) for code in args.code)
    rows = []
    for command, extra in COMMANDS.items():
        argv = ["query", args.query, "--index", args.index, "--json", *extra]
        results: dict[str, list] = {label: [] for label in codes}
        working = [label for label in codes if run(argv, codes[label])]  # warm-up: exports
        for turn in range(args.runs):
            for label in working[:: 1 if turn % 2 == 0 else -1]:
                results[label].append(run(argv, codes[label]))
                print(command, label, results[label][-1], flush=True)
        for label, runs in results.items():
            if not runs or None in runs:
                rows.append(f"| {command} | {label} | fails (not installed) | | | |")
                continue
            wall = statistics.median(r[0] for r in runs)
            stages = statistics.median(r[1] for r in runs)
            rows.append(
                f"| {command} | {label} | {wall:.2f} | {stages:.2f} | {wall - stages:.2f} | "
                f"{runs[-1][2] or 'none'} |"
            )
    lines = [
        f"`esrerank query` as a fresh process on index '{args.index}' (embedded store), "
        f"exported models already cached, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU "
        f"cores; seconds, median of {args.runs} runs.",
        "",
        "| command | code | wall | query stages | start-up (wall − stages) | heavy imports |",
        "|---|---|---|---|---|---|",
        *rows,
    ]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
