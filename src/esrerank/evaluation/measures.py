"""Retrieval quality with trec_eval's own measures (through pytrec_eval): top-k accuracy (the
share of queries with a relevant document in the top k), Recall@k, MRR@10 and nDCG@10."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ACCURACY_CUTOFFS = (1, 5, 20, 50, 100)


def doc_ranking(doc_ids: Sequence[str]) -> list[str]:
    """Documents in the order their first passage appears: the document-level ranking."""
    return list(dict.fromkeys(doc_ids))


def evaluate(
    qrels: dict[str, dict[str, int]],
    rankings: dict[str, Sequence[str]],
    cutoffs: Sequence[int] = ACCURACY_CUTOFFS,
) -> dict[str, float]:
    """Mean of each measure over the queries that have a relevant document; a query with no
    ranking counts as zero. Keys: ``accuracy@k``, ``recall@k``, ``mrr@10``, ``ndcg@10``."""
    per_query = evaluate_per_query(qrels, rankings, cutoffs)
    names = next(iter(per_query.values())).keys() if per_query else ()
    return {name: float(np.mean([q[name] for q in per_query.values()])) for name in names}


def evaluate_per_query(
    qrels: dict[str, dict[str, int]],
    rankings: dict[str, Sequence[str]],
    cutoffs: Sequence[int] = ACCURACY_CUTOFFS,
) -> dict[str, dict[str, float]]:
    import pytrec_eval

    judged = {q: docs for q, docs in qrels.items() if any(g > 0 for g in docs.values())}
    ks = ",".join(str(k) for k in cutoffs)
    full = pytrec_eval.RelevanceEvaluator(
        judged, {f"success.{ks}", f"recall.{ks}", "ndcg_cut.10"}
    ).evaluate(_run(rankings, judged, None))
    top10 = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank"}).evaluate(
        _run(rankings, judged, 10)
    )
    results = {}
    for query in judged:
        measured = full.get(query, {})
        figures = {f"accuracy@{k}": measured.get(f"success_{k}", 0.0) for k in cutoffs}
        figures.update({f"recall@{k}": measured.get(f"recall_{k}", 0.0) for k in cutoffs})
        figures["mrr@10"] = top10.get(query, {}).get("recip_rank", 0.0)
        figures["ndcg@10"] = measured.get("ndcg_cut_10", 0.0)
        results[query] = figures
    return results


def _run(
    rankings: dict[str, Sequence[str]], judged: dict, depth: int | None
) -> dict[str, dict[str, float]]:
    """trec_eval orders by score, so rank r of n gets score n - r (no ties)."""
    run = {}
    for query, docs in rankings.items():
        if query in judged and docs:
            kept = list(docs)[:depth]
            run[query] = {doc: float(len(kept) - i) for i, doc in enumerate(kept)}
    return run
