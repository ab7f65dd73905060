"""Text renderings of search results for the terminal: a table, and an explanation."""

from __future__ import annotations

import shutil
import textwrap

from ..models.runtimes import CHECKED
from ..searcher import SearchResult
from ..types import LEGS, Hit, StageScore

STAGES = (*LEGS, "fused", "rerank", "final")


def header(result: SearchResult, where: str) -> str:
    counts = " ".join(f"{name}={len(hits)}" for name, hits in result.legs.items())
    if result.reranked:
        rerank = (
            f"reranker {result.reranker} ({result.reranker_runtime}) "
            f"{result.timings.get('rerank', 0):.2f}s, "
            f"{result.rerank_scored} of {result.rerank_pool} passages scored{_checked(result)}, "
            + ("ensemble with bm25" if result.ensemble else f"weight {result.rerank_weight:g}")
        )
    else:
        rerank = f"reranked: false ({result.rerank_reason})"
    return f"{where} | candidates {counts} | fusion {result.fusion.describe()} | {rerank}"


def table(result: SearchResult) -> str:
    """One row per hit: rank, passage, every stage's score and rank, title and text."""
    width = shutil.get_terminal_size((120, 20)).columns
    rows = [("#", "passage", *STAGES, "title / text")]
    for hit in result.hits:
        stages = [_cell(getattr(hit, stage)) for stage in STAGES]
        rows.append((str(hit.rank), hit.passage_id, *stages, _snippet(hit)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    room = max(20, width - sum(widths) - 2 * len(widths))
    lines = []
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, row[-1][:room]]).rstrip())
    return "\n".join(lines)


def explain(result: SearchResult) -> str:
    """How each final hit got its place: raw leg scores, normalization, fusion, rerank."""
    spec = result.fusion

    lines = [f"fusion: {spec.describe()}"]
    if spec.method != "rrf":
        lines.append(
            f"  each leg's scores are {spec.method}-normalized over its own hits; a passage one "
            "leg missed gets that leg's floor (0 under min_max, else its lowest normalized score)"
        )
    lines.append(_rerank_explained(result))
    for hit in result.hits:
        lines.append("")
        lines.append(f"#{hit.rank} {hit.passage_id}  {hit.title[:70]}")
        for leg, weight in zip(LEGS, spec.weights, strict=True):
            stage: StageScore = getattr(hit, leg)
            if stage.score is None:
                seen = "not returned by this leg"
            else:
                seen = f"raw {stage.score:.4f} (rank {stage.rank})"
            norm = hit.normalized.get(leg)
            norm_text = f" -> {spec.method} {norm:.4f}" if norm is not None else ""
            if stage.score is None and leg in result.fused.floors:
                norm_text = f" -> floor {result.fused.floors[leg]:.4f}"
            lines.append(f"   {leg:<6} {seen}{norm_text}  weight {weight:g}")
        lines.append(f"   fused  {hit.fused.score:.4f} (fused rank {hit.fused.rank})")
        if hit.rerank.score is not None:
            lines.append(f"   rerank {hit.rerank.score:.4f} (rerank rank {hit.rerank.rank})")
            move = f"moved from fused rank {hit.fused.rank} to {hit.rank}"
            lines.append(f"   final  {hit.final.score:.4f}: {move}")
    return "\n".join(lines)


def _rerank_explained(result: SearchResult) -> str:
    by = f"reranked by {result.reranker} ({result.reranker_runtime})"
    if not result.reranked:
        return f"  then the fused list was not reranked: {result.rerank_reason}"
    if result.ensemble:
        return (
            f"  then the dense top hits were {by} (the study's ensemble, tuned with the index); "
            "final score = 0.5 x min_max(bm25) + 0.5 x min_max(rerank), each over its own hits"
        )
    weight = result.rerank_weight
    return (
        f"  then the fused top {result.rerank_pool} were {by}, in fused order, until no "
        f"unscored passage could reach the top {len(result.hits)} ({result.rerank_scored} "
        f"scored{_checked(result)}); final score = {weight:g} x rerank probability + "
        f"{1 - weight:g} x min_max(fused) over the pool"
    )


def _checked(result: SearchResult) -> str:
    """How many passages a checked route scored again at fp32, where it has one."""
    if not result.reranker_runtime or not result.reranker_runtime.endswith(CHECKED):
        return ""
    return f" at bf16, {result.rerank_checked} again at fp32"


def _cell(stage: StageScore) -> str:
    if stage.score is None:
        return "-"
    return f"{stage.score:.3f} ({stage.rank})"


def _snippet(hit: Hit) -> str:
    text = " ".join(hit.text.split())
    title = f"{hit.title} | " if hit.title else ""
    return textwrap.shorten(title + text, 300, placeholder="...")
