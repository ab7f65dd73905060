"""`esrerank query` with no model hub: the hub switched off (`HF_HUB_OFFLINE=1`) against the
switch unset and a hub that never answers (`HF_ENDPOINT` at a socket that accepts connections
and stays silent, as a dropped route does). The default cross-encoder is nowhere locally, so each
query falls back to the bundled one. Each `--code LABEL=PYTHON[:SRC]` is an install to compare
(as in cold_start.py); fresh process per query, runs alternate, medians.

    python benchmarks/offline_query.py --index scifact --data-dir /tmp/bench/store \
        --code "before=python:/tmp/before/src" --code "now=python" \
        --out benchmarks/results/offline-query.md
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import time
from pathlib import Path

from report import write_report


def run(code: str, argv: list[str], env: dict[str, str], timeout: float) -> float | None:
    """Wall seconds of one query (infinite when it ran past ``timeout`` and was stopped), or
    None when it failed."""
    python, _, src = code.partition(":")
    env = {**os.environ, **env, **({"PYTHONPATH": src} if src else {})}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [python, "-m", "esrerank", *argv], env=env, capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return float("inf")
    return time.perf_counter() - started if done.returncode == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--query", default="vitamin D deficiency and bone fractures")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--code", action="append", required=True, help="LABEL=PYTHON[:SRC]")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    codes = dict(code.split("=", 1) for code in args.code)
    argv = ["query", args.query, "--index", args.index, "--data-dir", args.data_dir]
    argv += ["--rerank-depth", "10", "--json"]
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        settings = {
            "HF_HUB_OFFLINE=1": {"HF_HUB_OFFLINE": "1"},
            "switch unset, hub silent": {
                "HF_HUB_OFFLINE": "",
                "HF_ENDPOINT": f"http://127.0.0.1:{silent.getsockname()[1]}",
            },
        }
        times: dict[tuple[str, str], list] = {}
        for turn in range(args.runs):
            for label in list(codes)[:: 1 if turn % 2 == 0 else -1]:
                for setting, env in settings.items():
                    seconds = run(codes[label], argv, env, args.timeout)
                    times.setdefault((label, setting), []).append(seconds)
                    print(label, setting, seconds, flush=True)
    rows = []
    for label in codes:
        offline = times[(label, "HF_HUB_OFFLINE=1")]
        for setting in settings:
            runs = times[(label, setting)]
            if None in runs or None in offline:
                rows.append(f"| {label} | {setting} | failed | |")
                continue
            median = statistics.median(runs)
            if median == float("inf"):
                rows.append(f"| {label} | {setting} | over {args.timeout:g} (stopped) | |")
                continue
            extra = median - statistics.median(offline)
            rows.append(f"| {label} | {setting} | {median:.2f} | {extra:+.2f} |")
    lines = [
        f"`esrerank query` (reranking the top 10) on index '{args.index}', a fresh process per "
        f"query, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores; seconds, median of "
        f"{args.runs} runs.",
        "",
        "| code | hub | wall | vs HF_HUB_OFFLINE=1 |",
        "|---|---|---|---|",
        *rows,
    ]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
