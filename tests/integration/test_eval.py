"""``esrerank eval`` and fusion tuning on every backend, on the shipped SciFact sample."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import replace

import pytest

from esrerank import Searcher
from esrerank.config import DEFAULT_RERANK_WEIGHT
from esrerank.evaluation import evaluate, load_eval_data
from esrerank.evaluation.measures import ACCURACY_CUTOFFS
from esrerank.evaluation.strategies import FUSED, SINGLE
from tests.cli import run_cli

from .conftest import BACKENDS, require_backend

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _evaluate(url, bi_encoder, sample_beir, tmp_path, index):
    searcher = Searcher(url, index, data_dir=tmp_path / "store", bi_encoder=bi_encoder)
    searcher.ingest(sample_beir / "corpus.jsonl")
    data = load_eval_data(sample_beir, "test")
    evaluation = evaluate(
        searcher,
        data,
        [*SINGLE, *FUSED],
        candidates=100,
        depth=100,
        cache_path=tmp_path / "cache.sqlite",
        tune_on=load_eval_data(sample_beir, "dev"),
    )
    return searcher, evaluation


@pytest.mark.parametrize("backend", BACKENDS)
def test_eval_with_tuning_stores_the_fusion_query_then_uses(
    backend, bi_encoder, sample_beir, tmp_path
):
    url = require_backend(backend)
    searcher, evaluation = _evaluate(url, bi_encoder, sample_beir, tmp_path, f"eval-{backend}")
    try:
        assert evaluation.queries == 20
        assert set(evaluation.figures) == {*SINGLE, *FUSED, "hybrid"}
        for figures in evaluation.figures.values():
            accuracy = [figures[f"accuracy@{k}"] for k in ACCURACY_CUTOFFS]
            assert accuracy == sorted(accuracy)  # more hits can only find more
            assert all(0 <= value <= 1 for value in figures.values())
        # 300 abstracts and claims written about them: both legs work well.
        assert evaluation.figures["bm25"]["accuracy@5"] >= 0.6
        assert evaluation.figures["dense"]["accuracy@5"] >= 0.6
        tuning = evaluation.tuning
        assert tuning["tuning_queries"] == 100
        assert tuning["test_ndcg@10"] == evaluation.figures["hybrid"]["ndcg@10"]

        fresh = Searcher(url, searcher.index, data_dir=tmp_path / "store", bi_encoder=bi_encoder)
        stored = fresh.meta().extra["fusion"]
        assert stored["why"] == tuning["why"]
        result = fresh.search("cancer", rerank=False)
        assert result.fusion.describe() == tuning["describe"]
        fresh.close()
    finally:
        searcher.backend.delete_index(searcher.index)
        searcher.close()


def test_eval_figures_agree_across_backends(bi_encoder, sample_beir, tmp_path):
    figures = {}
    for backend in BACKENDS:
        url = require_backend(backend)
        searcher, evaluation = _evaluate(url, bi_encoder, sample_beir, tmp_path, "eval-parity")
        searcher.backend.delete_index(searcher.index)
        searcher.close()
        figures[backend] = evaluation.figures
    for backend in BACKENDS[1:]:
        for strategy in (*SINGLE, "hybrid:min_max"):
            for measure, value in figures["embedded"][strategy].items():
                assert figures[backend][strategy][measure] == pytest.approx(value, abs=0.02), (
                    backend,
                    strategy,
                    measure,
                )


def test_eval_command_writes_table_json_plot_and_caches_rerank_scores(
    sample_beir, tiny_reranker, tmp_path
):
    out = tmp_path / "out" / "sample"
    args = (
        "eval",
        str(sample_beir),
        "--strategies",
        "bm25,dense,dense+rerank,hybrid+rerank,ensemble",
        "--reranker",
        tiny_reranker,
        "--rerank-depth",
        "10",
        "--max-queries",
        "6",
        "--out",
        str(out),
    )
    first = run_cli(*args, data_dir=tmp_path / "store")
    assert first.returncode == 0, first.stderr
    assert "index 'sample-beir" in first.stderr  # ingested on first use
    assert "| dense+rerank |" in first.stdout and "| ensemble |" in first.stdout
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["queries"] == 6 and report["reranker"] == tiny_reranker
    assert report["command"].startswith("esrerank eval ")
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert out.with_suffix(".md").read_text().startswith("## sample-beir")

    cache = tmp_path / "store" / "cache" / "rerank-scores.sqlite"
    rows = sqlite3.connect(cache).execute("SELECT COUNT(*) FROM scores").fetchone()[0]
    assert 10 <= rows <= 6 * 20  # dense top 10 and fused top 10 of each query, overlapping
    again = run_cli(*args, data_dir=tmp_path / "store")
    assert again.returncode == 0, again.stderr
    assert sqlite3.connect(cache).execute("SELECT COUNT(*) FROM scores").fetchone()[0] == rows
    assert json.loads(out.with_suffix(".json").read_text())["figures"] == report["figures"]


def test_tuning_with_a_reranker_stores_the_rerank_weight_query_then_uses(
    bi_encoder, tiny_reranker, sample_beir, tmp_path, caplog
):
    store = tmp_path / "store"
    searcher = Searcher(
        None, "tuned", data_dir=store, bi_encoder=bi_encoder, reranker=tiny_reranker
    )
    with searcher:
        searcher.ingest(sample_beir / "corpus.jsonl")
        evaluation = evaluate(
            searcher,
            load_eval_data(sample_beir, "test"),
            ["hybrid+rerank"],
            candidates=20,
            depth=10,
            cache_path=tmp_path / "cache.sqlite",
            tune_on=load_eval_data(sample_beir, "dev"),
        )
    tuned = evaluation.tuning["rerank"]
    assert tuned["reranker"] == tiny_reranker and tuned["tuning_queries"] == 100
    assert 0 <= tuned["weight"] <= 1 and "out of fold" in tuned["why"]
    assert tuned["depth"] == 10  # no shallower depth than the 10 scored to try
    assert evaluation.rerank_weight == tuned["weight"]
    assert tuned["test_ndcg@10"] == evaluation.figures["hybrid+rerank"]["ndcg@10"]

    with Searcher(
        None, "tuned", data_dir=store, bi_encoder=bi_encoder, reranker=tiny_reranker
    ) as fresh:
        result = fresh.search("cancer", rerank_depth=10)
        assert result.rerank_weight == tuned["weight"]
        assert result.reranked == (tuned["weight"] > 0)
        fresh.handle.store_rerank_weight(0.0, {"reranker": tiny_reranker})
        skipped = fresh.search("cancer", rerank_depth=10)
        assert not skipped.reranked and "tuned with the index" in skipped.rerank_reason
        fresh.handle.store_rerank_weight(0.0, {"reranker": "another/reranker"})
        assert fresh.search("cancer", rerank_depth=10).rerank_weight == DEFAULT_RERANK_WEIGHT

        # The tuner may choose the study's ensemble: query and eval then rank that way.
        fresh.handle.store_rerank_weight(1.0, {"reranker": tiny_reranker}, mode="ensemble")
        study = fresh.search("cancer", top_k=10, rerank_depth=10)
        assert study.reranked and study.ensemble and study.to_dict()["rerank_mode"] == "ensemble"
        dense_pool = {h.passage.passage_id for h in study.legs["dense"][:10]}
        bm25_ids = {h.passage.passage_id for h in study.legs["bm25"]}
        for hit in study.hits:
            assert hit.passage_id in bm25_ids | dense_pool
            assert (hit.rerank.score is not None) == (hit.passage_id in dense_pool)
        finals = [hit.final.score for hit in study.hits]
        assert finals == sorted(finals, reverse=True)
        as_query = evaluate(
            fresh,
            load_eval_data(sample_beir, "test"),
            ["hybrid+rerank", "ensemble"],
            candidates=20,
            depth=10,
            cache_path=tmp_path / "cache.sqlite",
        )
        assert as_query.figures["hybrid+rerank"] == as_query.figures["ensemble"]
        assert as_query.labels["hybrid+rerank"] == "hybrid + rerank (tuned: the ensemble)"

        # The depth stored with the weight is the pool query uses when none is given.
        fresh.handle.store_rerank_weight(0.5, {"reranker": tiny_reranker, "depth": 3})
        shallow = fresh.search("cancer", top_k=2)
        assert shallow.rerank_weight == 0.5 and shallow.rerank_pool == 3
        assert 2 <= shallow.rerank_scored <= 3

        # A weight tuned under another final-score formula waits for the next tuning.
        meta = fresh.handle.meta()
        earlier = {**meta.extra["rerank"], "formula": "an earlier formula"}
        fresh.backend.put_meta("tuned", replace(meta, extra={**meta.extra, "rerank": earlier}))
        fresh.handle.forget_meta()
        with caplog.at_level(logging.WARNING):
            untuned = fresh.search("cancer", top_k=2)
        assert untuned.rerank_weight == DEFAULT_RERANK_WEIGHT and untuned.rerank_pool > 3
        assert "tuned under an earlier final-score formula" in caplog.text


def test_the_python_api_chooses_the_queries_ingests_once_and_tunes(
    bi_encoder, sample_beir, tmp_path
):
    from esrerank.errors import ConfigError
    from esrerank.evaluation import ensure_index, reporting_and_tuning_queries, tune_index

    data, tune_on = reporting_and_tuning_queries(sample_beir, "test", tune=True)
    assert (len(data.queries), tune_on.split, len(tune_on.queries)) == (20, "dev", 100)
    assert reporting_and_tuning_queries(sample_beir, "test")[1] is None
    held = reporting_and_tuning_queries(sample_beir, "dev", tune=True, tune_fraction=0.3)
    assert (len(held[0].queries), len(held[1].queries)) == (70, 30)
    assert not set(held[0].queries) & set(held[1].queries)
    with pytest.raises(ConfigError, match="must differ"):
        reporting_and_tuning_queries(sample_beir, "test", tune=True, tune_split="test")

    with Searcher(None, "api", data_dir=tmp_path, bi_encoder=bi_encoder) as searcher:
        assert ensure_index(searcher, data).documents == 300
        assert ensure_index(searcher, data) is None  # there already
        record = tune_index(searcher, tune_on, rerank=False, cache_path=tmp_path / "c.sqlite")
        assert "rerank" not in record and record["tuning_queries"] == 100
        stored = searcher.meta().extra["fusion"]
        assert stored["why"] == record["why"] and stored["tuned_on"] == f"{data.name} dev"
