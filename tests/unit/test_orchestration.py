"""The orchestration, fast: ingest's upserts and deletions, and the search pipeline's choices
(stored fusion, rerank weight, ensemble and depth), on an in-memory backend with a hashing
bi-encoder and a word-overlap reranker (``tests/memory.py``). What the engines and the models do
is tested for real in tests/integration."""

from __future__ import annotations

import json

import pytest

from esrerank.corpus import ChunkSpec
from esrerank.fusion import FusionSpec
from esrerank.fusion.ensemble import ENSEMBLE
from esrerank.indexing.handle import IndexHandle
from esrerank.indexing.ingest import Ingester
from esrerank.indexing.passage_embeddings import PassageEmbedder
from esrerank.models.hub import DEFAULT_BI_ENCODER
from esrerank.models.pool import ModelPool
from esrerank.search.pipeline import SearchPipeline
from tests.memory import HashingEncoder, HashingModels, MemoryBackend, OverlapReranker

SMALL = ChunkSpec(size=12, overlap=0)  # a few passages per document
DOCS = {
    "a": "Vitamin D supplements and bone fractures in older adults. " * 3,
    "b": "Bariatric surgery lowers mortality in severe obesity over ten years. " * 3,
    "c": "Statins reduce cardiovascular events in patients with high cholesterol. " * 3,
}


def write_corpus(path, docs):
    path.write_text(
        "".join(json.dumps({"_id": i, "title": "", "text": t}) + "\n" for i, t in docs.items())
    )
    return path


@pytest.fixture
def parts():
    backend, encoder, reranker = MemoryBackend(), HashingEncoder(), OverlapReranker()
    handle = IndexHandle(backend, "docs", encoder)
    ingester = Ingester(handle, ModelPool(), PassageEmbedder(None))
    pipeline = SearchPipeline(handle, ModelPool(), reranker)
    return backend, encoder, reranker, handle, ingester, pipeline


def test_ingest_stores_every_passage_then_embeds_nothing_the_second_time(parts, tmp_path):
    backend, encoder, _, _, ingester, _ = parts
    corpus = write_corpus(tmp_path / "c.jsonl", DOCS)
    first = ingester.ingest(corpus, chunking=SMALL)
    assert first.documents == 3 and first.indexed == first.passages == backend.count("docs")
    assert first.passages > 3 and encoder.texts_embedded == first.passages
    again = ingester.ingest(corpus, chunking=SMALL)
    assert (again.indexed, again.unchanged, again.deleted) == (0, first.passages, 0)
    assert encoder.texts_embedded == first.passages  # nothing embedded again


def test_a_shorter_document_replaces_its_passages_and_loses_the_rest(parts, tmp_path):
    backend, encoder, _, _, ingester, _ = parts
    ingester.ingest(write_corpus(tmp_path / "c.jsonl", DOCS), chunking=SMALL)
    before = {p.passage_id for p in backend.passages("docs") if p.doc_id == "a"}
    embedded = encoder.texts_embedded
    changed = {**DOCS, "a": "Vitamin D alone does not prevent fractures."}
    report = ingester.ingest(write_corpus(tmp_path / "c.jsonl", changed), chunking=SMALL)
    after = {p.passage_id for p in backend.passages("docs") if p.doc_id == "a"}
    assert after == {"a#0"} and len(before) > 1
    assert report.indexed == 1 and report.deleted == len(before) - 1
    assert encoder.texts_embedded == embedded + 1  # only the changed passage
    assert "prevent" in backend.get("docs", ["a#0"])["a#0"].text


def test_sync_removes_documents_the_file_no_longer_has(parts, tmp_path):
    backend, _, _, _, ingester, _ = parts
    ingester.ingest(write_corpus(tmp_path / "c.jsonl", DOCS), chunking=SMALL)
    kept = {k: v for k, v in DOCS.items() if k != "b"}
    report = ingester.ingest(write_corpus(tmp_path / "c.jsonl", kept), chunking=SMALL, sync=True)
    assert report.removed == 1
    assert set(backend.doc_ids("docs")) == {"a", "c"}


def test_the_bi_encoder_chosen_is_returned_not_set_on_the_shared_handle(tmp_path):
    backend = MemoryBackend()
    handle = IndexHandle(backend, "docs")  # no bi-encoder given: chosen from the corpus
    models = HashingModels(HashingEncoder())
    Ingester(handle, models, PassageEmbedder(None)).ingest(
        write_corpus(tmp_path / "c.jsonl", DOCS), chunking=SMALL
    )
    assert models.asked == [DEFAULT_BI_ENCODER]  # chosen for an English corpus
    assert handle.bi_encoder is None
    assert handle.encoder_choice() == HashingEncoder.name  # the index's own, from its record


@pytest.fixture
def indexed(parts, tmp_path):
    parts[4].ingest(write_corpus(tmp_path / "c.jsonl", DOCS), chunking=SMALL)
    return parts


def test_a_stored_fusion_is_used_unless_one_is_given(indexed):
    _, _, _, handle, _, pipeline = indexed
    handle.store_fusion(FusionSpec("rrf"), {"chosen_by": "test"})
    assert pipeline.search("bone fractures", rerank=False).fusion.method == "rrf"
    given = pipeline.search("bone fractures", rerank=False, fusion=FusionSpec("l2"))
    assert given.fusion.method == "l2"


def test_a_stored_weight_of_zero_skips_the_reranker_and_says_why(indexed):
    _, _, reranker, handle, _, pipeline = indexed
    handle.store_rerank_weight(0.0, {"reranker": reranker.name})
    result = pipeline.search("bone fractures")
    assert not result.reranked and reranker.pairs_scored == 0
    assert "tuned with the index" in result.rerank_reason
    assert pipeline.search("bone fractures", rerank_weight=0.5).reranked  # given wins


def test_a_weight_stored_for_another_reranker_is_not_used(indexed):
    _, _, reranker, handle, _, pipeline = indexed
    handle.store_rerank_weight(0.0, {"reranker": "another/reranker"})
    result = pipeline.search("bone fractures")
    assert result.reranked and result.rerank_weight == pytest.approx(0.2)


def test_a_stored_depth_bounds_the_pool(indexed):
    _, _, reranker, handle, _, pipeline = indexed
    handle.store_rerank_weight(1.0, {"reranker": reranker.name, "depth": 2})
    result = pipeline.search("bone fractures", top_k=2)
    assert result.rerank_pool == 2 and reranker.pairs_scored <= 2


def test_the_stored_ensemble_reranks_the_dense_pool_and_fuses_it_with_bm25(indexed):
    _, _, reranker, handle, _, pipeline = indexed
    handle.store_rerank_weight(1.0, {"reranker": reranker.name}, mode=ENSEMBLE)
    result = pipeline.search("bariatric surgery mortality", top_k=3)
    assert result.ensemble and result.reranked
    dense_pool = len(result.legs["dense"])
    assert reranker.pairs_scored == dense_pool  # the whole dense pool, no early stop
    assert result.hits[0].passage.doc_id == "b"
