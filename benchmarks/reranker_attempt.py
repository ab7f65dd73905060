"""Reranker attempt (benchmarks/results/reranker-attempts.md): SciFact train + the MS MARCO
sample's tuning half, mixed, listwise, more negatives, more epochs; dev MRR@10 of the candidate
and of the bundled reranker on the same held-out queries.

    python benchmarks/reranker_attempt.py bundled
    python benchmarks/reranker_attempt.py mixed-2ep 2 7 sentence-transformers/all-MiniLM-L6-v2

Reads the indexes `scifact` and `msmarco-sample` from the embedded store /tmp/bench/store
(`esrerank eval` builds them) and, in /tmp/bench/train, `msmarco-tune-qrels.tsv`: the half of
the sample's test queries that `eval --tune` tunes on
(`esrerank.evaluation.reporting_and_tuning_queries(folder, "test", tune=True)`: seed 13, 50%),
never the half it reports on.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from esrerank.backends import open_backend
from esrerank.models.bi_encoder import load_bi_encoder
from esrerank.training import loop
from esrerank.training.cross import _Scorer, train_reranker
from esrerank.training.evaluation import reranked_mrr, retrieval_mrr
from esrerank.training.inputs import from_qrels

DATA = Path("../shared/data")
OUT = Path("/tmp/bench/train")


def main(phase: str, *args: str) -> None:
    backend = open_backend(None, "/tmp/bench/store")
    encoder = load_bi_encoder("sentence-transformers/all-MiniLM-L6-v2")
    options = dict(
        dev_qrels_file=None,
        dev_fraction=0.1,
        seed=13,
        encoder=encoder,
        sources=("bm25", "dense"),
        depth=30,
        progress=False,
    )
    sets = {
        "scifact": from_qrels(
            backend,
            "scifact",
            DATA / "scifact/queries.jsonl",
            DATA / "scifact/qrels/train.tsv",
            **options,
        ),
        "msmarco": from_qrels(
            backend,
            "msmarco-sample",
            DATA / "msmarco-sample/queries.jsonl",
            OUT / "msmarco-tune-qrels.tsv",
            **options,
        ),
    }
    for name, (groups, dev) in sets.items():
        print(name, len(groups), "groups,", len(dev), "dev; retrieval mrr@10", retrieval_mrr(dev))

    def dev_figures(model_dir) -> dict[str, float]:
        scorer = _Scorer(str(model_dir), 192)
        rerank = lambda query, texts: scorer.predict([query] * len(texts), texts)  # noqa: E731
        return {name: round(reranked_mrr(dev, rerank), 4) for name, (_, dev) in sets.items()}

    if phase == "bundled":
        print("bundled", dev_figures("src/esrerank/models/rerankers/minilm-l6-scifact"), flush=True)
        return
    epochs, negatives, base = int(args[0]), int(args[1]), args[2]
    groups = [g for train, _ in sets.values() for g in train]
    dev = [d for _, held in sets.values() for d in held]
    started = time.time()
    train_reranker(
        groups,
        OUT / phase,
        dev=dev,
        base=base,
        loss="listwise",
        negatives=negatives,
        max_length=192,
        settings=loop.Settings(
            epochs=epochs,
            batch_size=8,
            learning_rate=1e-4,
            warmup=0.1,
            seed=13,
            eval_steps=100,
            progress=False,
        ),
    )
    print("trained", phase, round(time.time() - started), "s", flush=True)
    print(phase, dev_figures(OUT / phase), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
