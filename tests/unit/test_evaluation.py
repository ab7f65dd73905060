"""The pure logic of ``esrerank eval``: data layouts, strategies, tuning and the report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from esrerank.errors import InputError
from esrerank.evaluation import load_eval_data
from esrerank.evaluation.report import markdown, plot
from esrerank.evaluation.runner import Evaluation, score
from esrerank.evaluation.strategies import QueryRun, ranking, rerank_pools
from esrerank.evaluation.tune import (
    LEGS,
    fusion_grid,
    tune,
    tune_rerank_depth,
    tune_rerank_weight,
)
from esrerank.fusion import FusionSpec
from esrerank.types import LegHit, Passage


def _hits(scored: list[tuple[str, float]]) -> list[LegHit]:
    """Leg hits for ``(passage id, score)`` pairs, best first; passage ``d#0`` is document d."""
    return [
        LegHit(Passage(pid, pid.split("#")[0], "", pid, 0, 0, 1, pid), score, rank)
        for rank, (pid, score) in enumerate(scored, start=1)
    ]


def _write_beir(folder, corpus_name="corpus.jsonl"):
    (folder / "qrels").mkdir(parents=True)
    (folder / corpus_name).write_text('{"_id": "d1", "title": "", "text": "x"}\n')
    (folder / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "one"}\n{"_id": "q2", "text": "two"}\n{"_id": "q3", "text": "3"}\n'
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td1\t1\nq3\td1\t0\n"
    )
    return folder


def test_beir_and_wiki_layouts_are_found(tmp_path):
    beir = load_eval_data(_write_beir(tmp_path / "beir"), "test")
    assert beir.corpus.name == "corpus.jsonl"
    assert sorted(beir.queries) == ["q1", "q2"]  # q3 has no relevant document
    wiki = load_eval_data(_write_beir(tmp_path / "wiki", "wiki.json"), "test")
    assert wiki.corpus.name == "wiki.json"


def test_missing_split_names_the_splits_there(tmp_path):
    folder = _write_beir(tmp_path / "d")
    with pytest.raises(InputError, match=r"qrels/dev.tsv not found; splits in .*: test"):
        load_eval_data(folder, "dev")


def test_qrels_naming_unknown_queries_is_an_error(tmp_path):
    folder = _write_beir(tmp_path / "d")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq9\td1\t1\n")
    with pytest.raises(InputError, match="1 query id.*not in .*queries.jsonl, e.g. 'q9'"):
        load_eval_data(folder, "test")


def test_held_out_split_is_seeded_disjoint_and_complete(tmp_path):
    data = load_eval_data(_write_beir(tmp_path / "d"), "test")
    tuning, rest = data.held_out(0.5, seed=1)
    assert set(tuning.queries).isdisjoint(rest.queries)
    assert set(tuning.queries) | set(rest.queries) == set(data.queries)
    again, _ = data.held_out(0.5, seed=1)
    assert again.queries == tuning.queries


def _run() -> QueryRun:
    return QueryRun(
        legs={
            "bm25": _hits([("a#0", 9.0), ("b#0", 5.0), ("c#0", 1.0)]),
            "dense": _hits([("c#0", 0.9), ("d#0", 0.8), ("a#0", 0.7)]),
        },
        rerank={"a#0": 0.1, "b#0": 0.5, "c#0": 0.9, "d#0": 0.3},
    )


def test_single_legs_and_reranked_orders():
    run = _run()
    assert ranking("bm25", run, FusionSpec(), depth=2) == ["a#0", "b#0", "c#0"]
    assert ranking("dense", run, FusionSpec(), depth=2) == ["c#0", "d#0", "a#0"]
    # The dense top 2 (c, d) reordered by the cross-encoder (c 0.9 > d 0.3); a stays after.
    assert ranking("dense+rerank", run, FusionSpec(), depth=2) == ["c#0", "d#0", "a#0"]
    assert rerank_pools(run, ["dense+rerank"], FusionSpec(), depth=2) == {"c#0", "d#0"}


def test_ensemble_is_min_max_bm25_and_rerank_of_dense_pool_averaged():
    run = _run()
    # bm25 min-max: a 1, b 0.5, c 0. rerank over dense top 3 (c .9, d .3, a .1): c 1, d 1/4, a 0.
    # Missing scores count as the leg's floor (0). Means: a .5, b .25, c .5, d .125.
    assert ranking("ensemble", run, FusionSpec(), depth=3) == ["a#0", "c#0", "b#0", "d#0"]


def test_scores_are_per_document():
    run = QueryRun(legs={"bm25": _hits([("a#0", 3.0), ("a#1", 2.0), ("b#0", 1.0)]), "dense": []})
    figures, rankings = score(_data({"q": {"b": 1}}), {"q": run}, ["bm25"], FusionSpec(), depth=10)
    assert rankings["bm25"]["q"] == ["a", "b"]  # a's second passage does not push b down
    assert figures["bm25"]["mrr@10"] == 0.5
    assert figures["bm25"]["accuracy@1"] == 0.0
    assert figures["bm25"]["accuracy@5"] == 1.0


def _data(qrels):
    from esrerank.evaluation.data import EvalData

    return EvalData("t", None, {q: q for q in qrels}, qrels, "test")


def test_grid_holds_both_legs_alone_and_starts_with_the_default():
    grid = fusion_grid()
    assert grid[0] == FusionSpec()
    assert all(spec in grid for spec in LEGS.values())
    assert len(grid) == len(set(grid)) > 100


def _runs_where_bm25_is_right(count: int) -> tuple[dict, dict]:
    """BM25 ranks the relevant document first; kNN ranks it last."""
    runs, qrels = {}, {}
    for i in range(count):
        docs = [f"q{i}d{j}#0" for j in range(5)]
        runs[f"q{i}"] = QueryRun(
            legs={
                "bm25": _hits([(d, 5.0 - j) for j, d in enumerate(docs)]),
                "dense": _hits([(d, 0.9 - j / 10) for j, d in enumerate(reversed(docs))]),
            }
        )
        qrels[f"q{i}"] = {f"q{i}d0": 1}
    return runs, qrels


def test_tuning_keeps_the_strong_leg_when_fusion_cannot_beat_it():
    runs, qrels = _runs_where_bm25_is_right(40)
    tuning = tune(runs, qrels)
    assert tuning.best_leg == "bm25"
    assert tuning.leg.score == 1.0
    # Fusion at best ties BM25 (heavy BM25 weights), so the gain is nil and BM25 is chosen.
    assert tuning.chosen == LEGS["bm25"]
    assert "bm25 alone" in tuning.reason()


def test_tuning_keeps_fusion_when_it_clearly_wins():
    runs, qrels = {}, {}
    for i in range(40):
        # The relevant document is second in both legs, behind a different decoy in each.
        runs[f"q{i}"] = QueryRun(
            legs={
                "bm25": _hits([("x#0", 2.0), ("rel#0", 1.9), ("y#0", 0.1)]),
                "dense": _hits([("y#0", 0.9), ("rel#0", 0.89), ("x#0", 0.1)]),
            }
        )
        qrels[f"q{i}"] = {"rel": 1}
    # One query where both legs are right, so the per-query gains have some spread.
    runs["q0"] = QueryRun(legs={"bm25": _hits([("rel#0", 2.0)]), "dense": _hits([("rel#0", 1.0)])})
    tuning = tune(runs, qrels)
    assert tuning.fused_kept
    assert tuning.best_fused.score > tuning.leg.score
    assert "fusion beats" in tuning.reason()


def _runs_with_reranker(helpful: bool, count: int = 40) -> tuple[dict, dict]:
    """Both legs rank the relevant passage last of five; a helpful cross-encoder scores it
    highest, a harmful one lowest. Every fifth query has the legs right, so the gains have some
    spread."""
    runs, qrels = {}, {}
    for i in range(count):
        docs = ["a#0", "b#0", "c#0", "d#0", "rel#0"]
        if i % 5 == 0:
            docs = ["rel#0", "a#0", "b#0", "c#0", "d#0"]
        legs = {
            "bm25": _hits([(d, 5.0 - j) for j, d in enumerate(docs)]),
            "dense": _hits([(d, 0.9 - j / 10) for j, d in enumerate(docs)]),
        }
        rerank = {d: (1.0 if d == "rel#0" else 0.5) for d in docs}
        if not helpful:
            rerank = {d: (0.0 if d == "rel#0" else 0.5 + j / 10) for j, d in enumerate(docs)}
        runs[f"q{i}"] = QueryRun(legs=legs, rerank=rerank)
        qrels[f"q{i}"] = {"rel": 1}
    return runs, qrels


def test_weight_tuning_keeps_no_reranking_when_the_reranker_hurts():
    runs, qrels = _runs_with_reranker(helpful=False)
    tuning = tune_rerank_weight(runs, qrels, FusionSpec(), depth=5)
    assert tuning.chosen == 0.0
    assert tuning.best.score <= tuning.unreranked.score
    alone = next(t for t in tuning.trials if t.spec == 1.0)  # the cross-encoder alone
    assert alone.score < tuning.unreranked.score
    assert "no reranking" in tuning.reason()


def test_weight_tuning_keeps_a_high_weight_when_the_reranker_clearly_helps():
    runs, qrels = _runs_with_reranker(helpful=True)
    tuning = tune_rerank_weight(runs, qrels, FusionSpec(), depth=5)
    # The relevant passage (probability 1, fused last: 0) beats the fused first (0.5, fused 1)
    # once w > 0.5 w + (1 - w), past w = 2/3.
    assert tuning.chosen == 0.7
    assert tuning.best.score == 1.0 > tuning.unreranked.score
    assert "beats the fused order" in tuning.reason()


def test_rerank_tuning_picks_the_ensemble_when_dense_misleads_and_bm25_does_not():
    """BM25 ranks the relevant passage first, dense last; the fused pool puts it behind "a",
    which the cross-encoder also prefers slightly, so no weight lifts it, while BM25 + the
    cross-encoder (the study's ensemble) does."""
    runs, qrels = {}, {}
    for i in range(40):
        bm25 = [("rel#0", 5.0), ("a#0", 4.0), ("b#0", 3.0), ("c#0", 2.0), ("d#0", 1.0)]
        knn = [("a#0", 0.9), ("b#0", 0.8), ("c#0", 0.7), ("d#0", 0.6), ("rel#0", 0.1)]
        rerank = {"rel#0": 0.55, "a#0": 0.6, "b#0": 0.4, "c#0": 0.3, "d#0": 0.2}
        if i % 5 == 0:  # both legs right: some spread in the gains
            knn = [("rel#0", 0.9), ("a#0", 0.8), ("b#0", 0.7), ("c#0", 0.6), ("d#0", 0.5)]
        runs[f"q{i}"] = QueryRun(legs={"bm25": _hits(bm25), "dense": _hits(knn)}, rerank=rerank)
        qrels[f"q{i}"] = {"rel": 1}
    tuning = tune_rerank_weight(runs, qrels, FusionSpec(), depth=5)
    assert tuning.chosen == "ensemble" and tuning.weight == 1.0
    assert tuning.best.score == 1.0
    assert max(t.score for t in tuning.trials if t.spec != "ensemble") < 1.0
    assert "the study's ensemble" in tuning.reason()


def test_markdown_and_plot(tmp_path):
    figures = {
        name: {
            **{f"accuracy@{k}": value for k in (1, 5, 20, 50, 100)},
            "recall@20": value,
            "recall@100": value,
            "mrr@10": value,
            "ndcg@10": value,
        }
        for name, value in (("bm25", 0.5), ("dense", 0.75))
    }
    evaluation = Evaluation(
        data="d",
        split="test",
        queries=2,
        backend="embedded 3",
        index="d",
        bi_encoder="m",
        analyzer="standard",
        fusion="min_max",
        candidates=100,
        rerank_depth=100,
        reranker=None,
        figures=figures,
        timings={"retrieve_ms_per_query": 1.0},
    )
    text = markdown(evaluation, "esrerank eval d")
    assert "| bm25 | 0.500 |" in text
    assert "| dense | **0.750** |" in text
    assert "esrerank eval d" in text
    plot(evaluation, tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.dumps(evaluation.to_dict())
    assert np.isfinite(figures["bm25"]["ndcg@10"])


def test_cached_rerank_scores_are_kept_apart_per_route(tmp_path):
    """An int8 reranker must not read the scores its fp32 twin cached, nor the other way."""
    from types import SimpleNamespace

    from esrerank.evaluation.rerank_cache import RerankCache
    from esrerank.models.reranker import RerankOutcome
    from esrerank.models.runtimes import Runtime

    passage = Passage("d#0", "d", "", "text", 0, 0, 4, "h")

    def cache(route: str, score: float) -> RerankCache:
        reranker = SimpleNamespace(
            name="model",
            runtime=Runtime(*route.split()),
            score=lambda query, texts: RerankOutcome(np.full(len(texts), score)),
        )
        return RerankCache(tmp_path / "scores.sqlite", reranker, 256)

    assert cache("openvino fp32", 0.9).scores("q", [passage]) == {"d#0": 0.9}
    assert cache("openvino int8", 0.4).scores("q", [passage]) == {"d#0": 0.4}
    assert cache("openvino fp32", 0.0).scores("q", [passage]) == {"d#0": 0.9}  # from the cache


def test_evaluation_without_the_eval_extra_says_what_to_install(monkeypatch):
    import importlib.util

    from esrerank.errors import ConfigError
    from esrerank.evaluation import require_eval_extra

    require_eval_extra()  # the test extras include it
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "pytrec_eval" else real(name)
    )
    with pytest.raises(ConfigError, match=r"pytrec-eval-terrier.*pip install 'esrerank\[eval\]'"):
        require_eval_extra()


def _runs_with_relevant_at(position: int, count: int = 40) -> tuple[dict, dict]:
    """100 fused passages per query, the relevant one at fused ``position`` (0-based) of most
    queries and first of every fifth; the cross-encoder finds it (probability 1, others 0)."""
    runs, qrels = {}, {}
    for i in range(count):
        docs = [f"d{j}#0" for j in range(100)]
        docs.insert(0 if i % 5 == 0 else position, "rel#0")
        docs = docs[:100]
        legs = {
            "bm25": _hits([(d, 100.0 - j) for j, d in enumerate(docs)]),
            "dense": _hits([(d, 1.0 - j / 100) for j, d in enumerate(docs)]),
        }
        rerank = {d: (1.0 if d == "rel#0" else 0.0) for d in docs}
        runs[f"q{i}"] = QueryRun(legs=legs, rerank=rerank)
        qrels[f"q{i}"] = {"rel": 1}
    return runs, qrels


def test_depth_tuning_keeps_the_shallowest_pool_that_loses_nothing():
    runs, qrels = _runs_with_relevant_at(12)  # inside every depth tried
    tuning = tune_rerank_depth(runs, qrels, FusionSpec(), 1.0, 100)
    assert [t.spec for t in tuning.trials] == [20, 30, 50, 100]
    assert tuning.chosen == 20
    assert "depth 20" in tuning.reason()


def test_depth_tuning_goes_as_deep_as_the_relevant_passages_sit():
    runs, qrels = _runs_with_relevant_at(40)  # only pools of 50 and 100 hold it
    tuning = tune_rerank_depth(runs, qrels, FusionSpec(), 1.0, 100)
    assert tuning.chosen == 50
    scores = {t.spec: t.score for t in tuning.trials}
    assert scores[20] < scores[50] == scores[100] == 1.0
