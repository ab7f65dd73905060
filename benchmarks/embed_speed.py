"""Bi-encoder throughput per route on an index's own passages, side by side in one run:
sentence-transformers' `SentenceTransformer.encode(texts)` with its defaults (the baseline), and
esrerank's `BiEncoder` on each route. The passages are split into rounds of `--round` texts; each
round is embedded by every route in turn (the order rotates), and the figure is the median
passages/s over rounds.

    python benchmarks/embed_speed.py --index scifact --out benchmarks/results/embed-speed-scifact.md
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from pathlib import Path

from report import write_report

from esrerank.backends import open_backend
from esrerank.config import default_data_dir
from esrerank.models.bi_encoder import BiEncoder
from esrerank.models.hub import DEFAULT_BI_ENCODER, resolve_model
from esrerank.models.runtimes import Runtime

BASELINE = "sentence-transformers defaults"
ROUTES = ("torch fp32", "openvino fp32", "openvino bf16", "openvino int8", "onnx int8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--passages", type=int, default=1600)
    parser.add_argument("--round", type=int, default=200)
    parser.add_argument("--routes", default=",".join(ROUTES))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    backend = open_backend(None, args.data_dir or default_data_dir())
    texts = [p.content for p in backend.passages(args.index)]
    texts = random.Random(5).sample(texts, min(args.passages, len(texts)))
    from sentence_transformers import SentenceTransformer

    plain = SentenceTransformer(str(resolve_model(DEFAULT_BI_ENCODER, "bi-encoder")))
    encoders = {BASELINE: lambda batch: plain.encode(batch)}
    for route in args.routes.split(","):
        encoder = BiEncoder(runtime=Runtime(*route.split()))
        encoders[route] = encoder.encode
    names = list(encoders)
    for name in names:  # warm-up
        encoders[name](texts[:32])
    rates: dict[str, list[float]] = {name: [] for name in names}
    rounds = range(0, len(texts), args.round)
    for turn, begin in enumerate(rounds):
        batch = texts[begin : begin + args.round]
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            started = time.perf_counter()
            encoders[name](batch)
            rates[name].append(len(batch) / (time.perf_counter() - started))
        print(f"round {turn + 1}/{len(rounds)}", flush=True)
    base = statistics.median(rates[BASELINE])
    lines = [
        f"Embedding {len(texts)} passages of index '{args.index}' (seeded sample) in rounds of "
        f"{args.round}, {DEFAULT_BI_ENCODER}, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU "
        "cores; median passages/s over rounds, routes interleaved.",
        "",
        "| route | passages/s | × vs ST defaults |",
        "|---|---|---|",
    ]
    for name in names:
        rate = statistics.median(rates[name])
        lines.append(f"| {name} | {rate:.1f} | {rate / base:.2f} |")
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
