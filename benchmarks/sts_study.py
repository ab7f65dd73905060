"""The cross-encoder STS study: train on scored sentence pairs with `esrerank train --encoder
cross --sts`, then report Pearson and Spearman on a test split the model never saw.

    python benchmarks/sts_study.py --data ../shared/data --out benchmarks/results/sts

Italian: stsb-multi-mt it train (dev for checkpoints) -> test. Korean: KLUE-STS v1.1 dev is the
only Korean split here, so it is split 70/30 (seeded) into train and test, and 10% of the train
part is held out for dev. The tokenizer is all-MiniLM-L6-v2's (English uncased WordPiece), the
only one available offline; its coverage of each language is reported beside the figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from esrerank.models.hub import DEFAULT_BI_ENCODER, resolve_model
from esrerank.training import read_scored_pairs
from esrerank.training.evaluation import correlations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="writes OUT.md and OUT.json")
    parser.add_argument("--work", type=Path, default=Path(".esrerank/sts"))
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    sts = args.data / "stsb-multi-mt"
    korean_train, korean_test = _split_klue(
        args.data / "klue-sts/klue-sts-v1.1_dev.json", args.work
    )
    studies = {
        "Italian (stsb-multi-mt)": (
            sts / "stsb-it-train.csv",
            ["--dev", str(sts / "stsb-it-dev.csv")],
            sts / "stsb-it-test.csv",
        ),
        "Korean (KLUE-STS)": (korean_train, ["--dev-fraction", "0.1"], korean_test),
    }
    results = {}
    for name, (train, dev, test) in studies.items():
        output = args.work / name.split()[0].lower()
        command = [
            "esrerank", "train", "--encoder", "cross", "--sts", str(train), *dev,
            "--output", str(output), "--epochs", str(args.epochs), "--batch-size", "16",
            "--max-length", "128", "--learning-rate", "2e-5", "--no-progress",
        ]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(command, check=True)
        seconds = time.perf_counter() - started
        test_pairs = read_scored_pairs(test)
        figures = _score(output, test_pairs)
        results[name] = {
            "command": " ".join(command),
            "train_pairs": len(read_scored_pairs(train)),
            "test_pairs": len(test_pairs),
            "seconds": round(seconds, 1),
            "dev": json.loads((output / "training.json").read_text())["best"],
            "test": figures,
            "tokenizer": _coverage([p.first for p in test_pairs]),
        }
        print(name, results[name]["test"], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(_markdown(results, args))
    print(_markdown(results, args))


def _split_klue(path: Path, work: Path) -> tuple[Path, Path]:
    rows = [
        (r["sentence1"], r["sentence2"], r["labels"]["label"])
        for r in json.loads(path.read_text(encoding="utf-8"))
    ]
    random.Random(13).shuffle(rows)
    cut = round(len(rows) * 0.7)
    files = []
    for name, part in (("klue-train.csv", rows[:cut]), ("klue-test.csv", rows[cut:])):
        with (work / name).open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(part)
        files.append(work / name)
    return files[0], files[1]


def _score(model_dir: Path, pairs) -> dict[str, float]:
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(model_dir), max_length=128)
    predicted = model.predict([(p.first, p.second) for p in pairs], batch_size=64)
    return correlations(pairs, np.asarray(predicted, dtype=np.float64))


def _coverage(texts: list[str]) -> dict[str, float]:
    """How the offline tokenizer sees the text: unknown-token share, tokens per word."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_model(DEFAULT_BI_ENCODER, "tokenizer")))
    ids = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    tokens = sum(len(i) for i in ids)
    unknown = sum(i.count(tokenizer.unk_token_id) for i in ids)
    words = sum(len(t.split()) for t in texts)
    return {"unknown_share": unknown / tokens, "tokens_per_word": tokens / words}


def _markdown(results: dict, args) -> str:
    lines = [
        "# Cross-encoder STS study",
        "",
        "```",
        f"python benchmarks/sts_study.py --data {args.data} --out {args.out} "
        f"--epochs {args.epochs}",
        "```",
        "",
        "Base model all-MiniLM-L6-v2 (offline), BCE on scores / 5, both orders of each pair, "
        f"{args.epochs} epoch(s), batch 16, lr 2e-5, max length 128; the dev split picks the "
        "checkpoint; test figures are on pairs never trained on.",
        "",
        "| data | train pairs | test pairs | dev Spearman | test Pearson | test Spearman "
        "| train s | unknown tokens | tokens/word |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['train_pairs']} | {r['test_pairs']} | {r['dev']['spearman']:.4f} "
            f"| {r['test']['pearson']:.4f} | {r['test']['spearman']:.4f} | {r['seconds']:.0f} "
            f"| {r['tokenizer']['unknown_share']:.1%} | {r['tokenizer']['tokens_per_word']:.2f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
