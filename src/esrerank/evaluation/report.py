"""An evaluation as a markdown table, JSON, and a PNG plot of top-k accuracy per strategy."""

from __future__ import annotations

import json
from pathlib import Path

from .measures import ACCURACY_CUTOFFS
from .runner import Evaluation

COLUMNS = (
    *(f"accuracy@{k}" for k in ACCURACY_CUTOFFS),
    "recall@20",
    "recall@100",
    "mrr@10",
    "ndcg@10",
)


def markdown(evaluation: Evaluation, command: str | None = None) -> str:
    """A header naming data, backend and models, and one row per strategy."""
    e = evaluation
    lines = [
        f"## {e.data}, split {e.split}: {e.queries} queries",
        "",
        f"Backend {e.backend}, index `{e.index}` (analyzer {e.analyzer}); bi-encoder "
        f"`{e.bi_encoder}`; {e.candidates} candidates per leg; index fusion: {e.fusion}.",
    ]
    if e.reranker:
        lines.append(
            f"Reranker `{e.reranker}` ({e.reranker_runtime}) on the top {e.rerank_depth}, weight "
            f"{e.rerank_weight:g} in hybrid+rerank: median "
            f"{e.timings['rerank_seconds_median_per_query']:.2f} s per query (cached scores "
            "count as 0)"
            + (
                f"; for a top 5, `query` scores a median of "
                f"{e.timings['rerank_scored_median_top5']:g} of the {e.rerank_depth} passages."
                if "rerank_scored_median_top5" in e.timings
                else "."
            )
        )
    lines.append(
        f"Retrieval (both legs, batched): {e.timings['retrieve_ms_per_query']:.1f} ms per query."
    )
    if command:
        lines += ["", "```", command, "```"]
    if e.tuning:
        lines += ["", tuning_summary(e.tuning)]
    header = ["strategy", *(_short(c) for c in COLUMNS)]
    lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    best = {c: max(f[c] for f in e.figures.values()) for c in COLUMNS}
    for strategy, figures in e.figures.items():
        cells = [
            f"**{figures[c]:.3f}**" if figures[c] == best[c] else f"{figures[c]:.3f}"
            for c in COLUMNS
        ]
        lines.append(f"| {e.labels.get(strategy, strategy)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def tuning_summary(tuning: dict) -> str:
    """The chosen setting, its tuning and test nDCG@10, and the margin over the best leg."""
    margin = tuning["test_ndcg@10"] - tuning["best_leg_test_ndcg@10"]
    return (
        f"Tuned on {tuning['tuned_on']} ({tuning['tuning_queries']} queries): "
        f"{tuning['describe']}, chosen as {tuning['why']}; nDCG@10 "
        f"{tuning['tuning_ndcg@10']:.3f} there, "
        f"{tuning['test_ndcg@10']:.3f} on this split against {tuning['best_leg_test_ndcg@10']:.3f} "
        f"for the best single leg ({tuning['best_leg']}): {margin:+.3f}."
        + (rerank_summary(tuning["rerank"]) if "rerank" in tuning else "")
    )


def rerank_summary(rerank: dict) -> str:
    """The chosen rerank weight, why, and its figures."""
    test = rerank.get("test_ndcg@10")
    return (
        (
            f" Reranking: the study's ensemble for `{rerank['reranker']}`, chosen as "
            if rerank.get("mode") == "ensemble"
            else f" Rerank weight {rerank['weight']:g} for `{rerank['reranker']}`, chosen as "
        )
        + f"{rerank['why']}, on {rerank['tuning_queries']} of the tuning queries; nDCG@10 "
        f"{rerank['tuning_ndcg@10']:.3f} there (fused order "
        f"{rerank['unreranked_tuning_ndcg@10']:.3f})"
        + (f", {test:.3f} on this split." if test is not None else ".")
        + (f" Rerank {rerank['depth_why']}." if "depth_why" in rerank else "")
    )


def write(evaluation: Evaluation, out: Path, command: str | None = None) -> list[Path]:
    """OUT.md, OUT.json (with per-query document rankings) and OUT.png; returns the paths."""
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = [out.with_suffix(".md"), out.with_suffix(".json"), out.with_suffix(".png")]
    paths[0].write_text(markdown(evaluation, command), encoding="utf-8")
    payload = {"command": command, **evaluation.to_dict()}
    paths[1].write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    plot(evaluation, paths[2])
    return paths


def plot(evaluation: Evaluation, path: Path) -> None:
    """Top-k accuracy against k (log scale), one line per strategy."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4.5), dpi=120)
    for strategy, figures in evaluation.figures.items():
        values = [figures[f"accuracy@{k}"] for k in ACCURACY_CUTOFFS]
        axes.plot(ACCURACY_CUTOFFS, values, marker="o", label=strategy)
    axes.set_xscale("log")
    axes.minorticks_off()
    axes.set_xticks(ACCURACY_CUTOFFS, [str(k) for k in ACCURACY_CUTOFFS])
    axes.set_xlabel("k")
    axes.set_ylabel("top-k accuracy")
    axes.set_title(
        f"{evaluation.data} ({evaluation.split}, {evaluation.queries} queries), "
        f"{evaluation.backend}",
        fontsize=9,
    )
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def _short(column: str) -> str:
    name, k = column.split("@")
    return {"accuracy": "acc", "recall": "R", "mrr": "MRR", "ndcg": "nDCG"}[name] + f"@{k}"
