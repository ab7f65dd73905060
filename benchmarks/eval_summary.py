"""One overview of results/eval/*.json (written by eval_public.sh): per data set and backend,
nDCG@10 and top-5 accuracy of each strategy, and the tuned fusion against the best single leg.

    python benchmarks/eval_summary.py [benchmarks/results/eval]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

STRATEGIES = (
    "bm25",
    "dense",
    "hybrid:min_max",
    "hybrid:rrf",
    "hybrid",
    "dense+rerank",
    "hybrid+rerank",
    "ensemble",
)


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/eval")
    reports = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]
    lines = [
        "# Evaluation overview",
        "",
        "Written by `python benchmarks/eval_summary.py` from the reports beside it (each names "
        "its command; `benchmarks/eval_public.sh` runs them all). Document-level trec_eval "
        "figures; `hybrid` is the fusion `--tune` chose and stored with the index, "
        "`hybrid+rerank` the rerank choice it stored (see each report's row label).",
        "",
        "## Tuned fusion against the best single leg (nDCG@10 on the reported split)",
        "",
        "| data | backend | queries | chosen fusion | why | tuned | best leg | margin |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        t = r["tuning"]
        if t is None:
            continue
        lines.append(
            f"| {_name(r)} | {r['backend']} | {r['queries']} | {t['describe']} | {t['why']} "
            f"| {t['test_ndcg@10']:.3f} | {t['best_leg']} {t['best_leg_test_ndcg@10']:.3f} "
            f"| {t['test_ndcg@10'] - t['best_leg_test_ndcg@10']:+.3f} |"
        )
    lines += [
        "",
        "## The tuned default query against the best of BM25, dense and the tuned fusion",
        "",
        "The tuned default is what `query` does after `eval --tune`: the tuned fusion, then the "
        "rerank choice (a weight, 0 = no reranking, or the study's ensemble). nDCG@10 on the "
        "reported split.",
        "",
        "| data | backend | queries | rerank choice | why | tuned default | best other | margin |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        t, f = r["tuning"], r["figures"]
        if t is None or "rerank" not in t:
            continue
        rerank = t["rerank"]
        choice = "ensemble" if rerank.get("mode") == "ensemble" else f"w={rerank['weight']:g}"
        best = max(("bm25", "dense", "hybrid"), key=lambda s: f[s]["ndcg@10"])
        default = f["hybrid+rerank"]["ndcg@10"]
        lines.append(
            f"| {_name(r)} | {r['backend']} | {r['queries']} | {choice} | {rerank['why']} "
            f"| {default:.3f} | {best} {f[best]['ndcg@10']:.3f} "
            f"| {default - f[best]['ndcg@10']:+.4f} |"
        )
    for measure, title in (("ndcg@10", "nDCG@10"), ("accuracy@5", "top-5 accuracy")):
        lines += ["", f"## {title} per strategy", ""]
        lines += ["| data | backend | " + " | ".join(STRATEGIES) + " |"]
        lines += ["|---|---|" + "---|" * len(STRATEGIES)]
        for r in reports:
            cells = [
                f"{r['figures'][s][measure]:.3f}" if s in r["figures"] else "–" for s in STRATEGIES
            ]
            lines.append(f"| {_name(r)} | {r['backend']} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    (folder / "README.md").write_text(text)
    print(text)


def _name(report: dict) -> str:
    setup = "" if report["analyzer"] == "standard" else f", {report['analyzer']}"
    model = report["bi_encoder"].split("/")[-1]
    return f"{report['data']} ({model}{setup}), {report['queries']} q"


if __name__ == "__main__":
    main()
