"""This CPU's matrix-multiply throughput per precision, beside what the reranker achieves.

Peaks: one large matmul per precision, best of several runs, on all cores — fp32 and bf16 through
torch (oneDNN), int8 (uint8 x int8 -> int32, the VNNI kernel) through ONNX Runtime's
MatMulInteger. The reranker's achieved rate is the FLOPs its graph does on the pairs of
rerank_speed.py's timed queries (their real token counts, MiniLM-L6-H384's shapes: the median
query's), divided by each route's median seconds per query from that run's result.

    cd benchmarks  # it imports rerank_speed.py from here
    python cpu_peak.py ../../shared/data/scifact --index scifact --max-queries 100 \\
        --speed results/rerank-speed-scifact.json --out results/cpu-peak.md
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from report import write_report

SIZE = 2048
RUNS = 7
# MiniLM-L6-H384: 6 layers, hidden 384, feed-forward 1536.
LAYERS, HIDDEN, FFN = 6, 384, 1536


def best_seconds(work, runs: int = RUNS) -> float:
    work()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def torch_peak(dtype) -> float:
    import torch

    a = torch.randn(SIZE, SIZE).to(dtype)
    b = torch.randn(SIZE, SIZE).to(dtype)
    return 2 * SIZE**3 / best_seconds(lambda: torch.matmul(a, b)) / 1e9


def int8_peak() -> float:
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    node = helper.make_node("MatMulInteger", ["A", "B"], ["Y"])
    graph = helper.make_graph(
        [node],
        "int8",
        [
            helper.make_tensor_value_info("A", TensorProto.UINT8, [SIZE, SIZE]),
            helper.make_tensor_value_info("B", TensorProto.INT8, [SIZE, SIZE]),
        ],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, [SIZE, SIZE])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {
        "A": rng.integers(0, 255, (SIZE, SIZE), dtype=np.uint8),
        "B": rng.integers(-127, 127, (SIZE, SIZE), dtype=np.int8),
    }
    del onnx
    return 2 * SIZE**3 / best_seconds(lambda: session.run(None, feed)) / 1e9


def reranker_flops(tokens_per_pair: list[int]) -> float:
    """Multiply-adds x 2 of the encoder on these sequence lengths (projections, feed-forward,
    attention scores and weighted sums)."""
    total = 0.0
    for n in tokens_per_pair:
        per_layer = n * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN) + 2 * n * n * HIDDEN
        total += 2 * LAYERS * per_layer
    return total


def median_query_tokens(args) -> list[int]:
    """Token counts of the pairs of the timed query with the median total (as rerank_speed.py
    chose and truncated them)."""
    from rerank_speed import MAX_LENGTH, load_pools, timed_queries
    from tokenizers import Tokenizer

    from esrerank.config import default_data_dir
    from esrerank.models.hub import OFFLINE_CROSS_ENCODER, resolve_model

    _, query_pools = load_pools(args, args.data_dir or default_data_dir(), 100)
    folder = Path(resolve_model(OFFLINE_CROSS_ENCODER, "cross-encoder"))
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_LENGTH, strategy="longest_first")
    tokenizer.no_padding()
    counts = []
    for q in timed_queries(sorted(query_pools), args.timed):
        text, pool, _ = query_pools[q]
        counts.append(
            [len(e.ids) for e in tokenizer.encode_batch([(text, p.content) for p in pool])]
        )
    counts.sort(key=sum)
    return counts[len(counts) // 2]


def main() -> None:
    from rerank_speed import add_pool_arguments

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_pool_arguments(parser)  # the same as the rerank_speed.py run
    parser.add_argument("--speed", type=Path, required=True, help="a rerank_speed.py .json")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    import torch

    speed = json.loads(args.speed.read_text())
    peaks = {
        "fp32": torch_peak(torch.float32),
        "bf16": torch_peak(torch.bfloat16),
        "int8": int8_peak(),
    }
    tokens = median_query_tokens(args)
    flops = reranker_flops(tokens)
    lines = [
        f"Matrix-multiply peak on this CPU ({os.cpu_count()} cores, {SIZE}x{SIZE} matmul, best "
        f"of {RUNS}), {time.strftime('%Y-%m-%d')}, beside the reranker's achieved rate on "
        f"{speed['header'].split(',')[0].lower()} (the median query: "
        f"{flops / 1e9:.0f} GFLOP for {len(tokens)} pairs, {sum(tokens)} tokens).",
        "",
        "| precision | peak GFLOP/s (GOP/s for int8) |",
        "|---|---|",
        *[f"| {name} | {value:.0f} |" for name, value in peaks.items()],
        "",
        "| route | median s/query | achieved GFLOP/s | share of its precision's peak |",
        "|---|---|---|---|",
    ]
    for row in speed["rows"]:
        precision = row["route"].split()[-1] if row["route"].split()[-1] in peaks else "fp32"
        achieved = flops / row["median_seconds"] / 1e9
        lines.append(
            f"| {row['route']} | {row['median_seconds']:.3f} | {achieved:.0f} | "
            f"{achieved / peaks[precision]:.0%} of {precision} |"
        )
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
