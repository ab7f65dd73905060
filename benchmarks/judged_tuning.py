"""What tuning from a handful of judged queries buys: a script plays the user of the workbench
on ``--judged`` random training queries of a BEIR data set (it searches each, and grades every
document of the top 10 shown: 3 if the qrels call it relevant, else 0), the guard tunes the
index on those judgments alone (``esrerank judgments tune``), and nDCG@10 on the test split is
compared with the untuned default and with tuning on the whole training split (``eval --tune``).

    python benchmarks/judged_tuning.py ../shared/data/scifact --index scifact-judged \\
        --out benchmarks/results/judged-tuning-scifact.md

The index is ingested into the embedded store (``--data-dir``) if missing; its stored tuning is
cleared first, so every run starts from the default. ``--no-rerank`` tunes and measures the
fusion alone (minutes instead of the cross-encoder's tens of minutes on two cores).
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from report import write_report
from serve_bench import table

from esrerank import Searcher
from esrerank.backends.judgments import Judgment
from esrerank.config import default_data_dir
from esrerank.evaluation import evaluate, load_eval_data, tune_index
from esrerank.evaluation.judged_tuning import change_summary, tune_on_judgments

SHOWN = 10  # the hits the user looks at and grades, per query


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--index", required=True)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--judged", type=int, default=30, help="queries the user judges [30]")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--no-rerank", action="store_true")
    parser.add_argument("--out", type=Path, required=True, help="PREFIX.md and PREFIX.json")
    args = parser.parse_args()
    rerank = not args.no_rerank
    strategies = ["bm25", "dense", "hybrid", *(["hybrid+rerank"] if rerank else [])]
    test = load_eval_data(args.folder, "test")
    train = load_eval_data(args.folder, "train")
    store = args.data_dir or default_data_dir()
    cache = store / "cache" / "rerank-scores.sqlite"
    searcher = Searcher(None, args.index, data_dir=store)
    if not searcher.handle.exists():
        print(f"ingesting {test.corpus}: {searcher.ingest(test.corpus).summary()}")
    searcher.handle.clear_tuning("cleared by benchmarks/judged_tuning.py")

    def on_test(label: str) -> dict:
        started = time.perf_counter()
        figures = evaluate(searcher, test, strategies, cache_path=cache).figures
        print(f"{label}: {time.perf_counter() - started:.0f} s")
        return {s: figures[s]["ndcg@10"] for s in strategies}

    rows = {"untuned (the default)": on_test("untuned")}

    chosen = random.Random(args.seed).sample(sorted(train.queries), args.judged)
    judgments = []
    for query_id in chosen:
        query = train.queries[query_id]
        shown = searcher.search(query, top_k=SHOWN, rerank=rerank).hits
        relevant = train.qrels[query_id]
        for doc in dict.fromkeys(hit.doc_id for hit in shown):
            judgments.append(Judgment(query, doc, 3 if relevant.get(doc, 0) > 0 else 0))
    store_of = searcher.backend.judgments(args.index)
    for old in store_of.all():
        store_of.delete(old.query, old.doc_id)
    store_of.put(judgments)
    record = tune_on_judgments(searcher, store_of.all(), rerank=rerank, cache_path=cache)
    rows[f"tuned on {record['queries']} judged queries"] = on_test("judged")

    searcher.handle.clear_tuning("cleared by benchmarks/judged_tuning.py")
    full = tune_index(searcher, train, rerank=rerank, cache_path=cache)
    rows[f"tuned on the train split ({len(train.queries)} queries)"] = on_test("train")

    lines = [
        f"# Tuning from {args.judged} judged queries ({args.folder.name})",
        "",
        f"A script plays the user on {args.judged} random train queries (seed {args.seed}): it "
        f"searches each and grades the documents of the top {SHOWN} shown (3 if the qrels call "
        f"them relevant, else 0): {len(judgments)} judgments, "
        f"{sum(j.grade > 0 for j in judgments)} relevant. nDCG@10 on the "
        f"{len(test.queries)} test queries:",
        "",
        *table(
            ["tuning", *strategies],
            [[name, *(f"{figures[s]:.4f}" for s in strategies)] for name, figures in rows.items()],
        ),
        "",
        "What the guard did with the judgments:",
        "",
        *(f"- {change_summary(change)}" for change in record["changes"]),
        *([] if record["decided"] else [f"- {record['why']}"]),
        "",
        f"On the whole train split: fusion {full['describe']} ({full['why']})"
        + (f"; rerank: {full['rerank']['why']}" if rerank and "rerank" in full else ""),
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_report(lines, args.out.with_suffix(".md"))
    args.out.with_suffix(".json").write_text(
        json.dumps(
            {"rows": rows, "judged_record": record, "train_tuning": full}, indent=2, default=str
        )
    )


if __name__ == "__main__":
    main()
