"""Ingest and query on every backend: the embedded store, OpenSearch and Elasticsearch."""

from __future__ import annotations

import copy
import json
import time

import pytest

from esrerank import ChunkSpec, FusionSpec, Searcher, Shards
from esrerank.backends.judgments import Judgment
from esrerank.errors import ConfigError, IndexMismatchError, IndexNotFoundError, InputError

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SMALL = ChunkSpec(size=64, overlap=16)


@pytest.fixture
def corpus(sample_corpus):
    """Twelve SciFact abstracts from the shipped sample."""
    return sample_corpus(12)


def test_ingest_then_query_reports_every_stage(searcher, corpus, tiny_reranker):
    report = searcher.ingest(corpus, chunking=SMALL)
    assert report.documents == 12
    assert report.passages > 12  # abstracts are longer than 64 tokens
    assert report.indexed == report.passages and report.failed == 0
    assert searcher.count() == report.passages

    first = json.loads(corpus.read_text().splitlines()[3])
    searcher.pipeline.reranker_choice = tiny_reranker
    result = searcher.search(first["title"], top_k=5, candidates=20)
    assert result.reranked and result.reranker == tiny_reranker
    assert len(result.hits) == 5
    assert [hit.rank for hit in result.hits] == [1, 2, 3, 4, 5]
    assert result.legs["bm25"][0].passage.doc_id == first["_id"]  # its own title finds it
    top_fused = result.fused.order[0]
    assert top_fused.startswith(first["_id"] + "#")
    for hit in result.hits:
        assert hit.fused.score is not None and hit.rerank.score is not None
        assert hit.bm25.score is not None or hit.dense.score is not None
    finals = [hit.final.score for hit in result.hits]
    assert finals == sorted(finals, reverse=True)
    assert result.rerank_weight == 0.2  # the default, as nothing was tuned


def test_rerank_weight_blends_the_scores_and_zero_skips_the_cross_encoder(
    searcher, corpus, tiny_reranker
):
    searcher.ingest(corpus, chunking=SMALL)
    searcher.pipeline.reranker_choice = tiny_reranker
    depth = 10
    result = searcher.search("cancer risk", top_k=depth, rerank_depth=depth, rerank_weight=0.3)
    assert result.reranked and result.rerank_weight == 0.3

    def min_max(values):
        return [(v - min(values)) / (max(values) - min(values)) for v in values]

    fused = min_max([hit.fused.score for hit in result.hits])
    probabilities = [hit.rerank.score for hit in result.hits]
    assert all(0 <= p <= 1 for p in probabilities)
    expected = [0.3 * p + 0.7 * f for p, f in zip(probabilities, fused, strict=True)]
    assert [hit.final.score for hit in result.hits] == pytest.approx(expected)
    finals = [hit.final.score for hit in result.hits]
    assert finals == sorted(finals, reverse=True)
    assert result.rerank_scored == result.rerank_pool == depth  # a page as deep as the pool

    # a shorter page: the same first hits, from fewer passages scored
    page = searcher.search("cancer risk", top_k=2, rerank_depth=depth, rerank_weight=0.3)
    assert [h.passage_id for h in page.hits] == [h.passage_id for h in result.hits[:2]]
    assert 2 <= page.rerank_scored <= depth
    assert page.to_dict()["rerank_scored"] == page.rerank_scored

    skipped = searcher.search("cancer risk", top_k=5, rerank_weight=0)
    assert not skipped.reranked and skipped.rerank_reason == "rerank weight 0"
    assert "rerank" not in skipped.timings
    assert [hit.fused.rank for hit in skipped.hits] == [1, 2, 3, 4, 5]
    with pytest.raises(ConfigError, match="between 0 and 1"):
        searcher.search("cancer risk", rerank_weight=1.5)


def test_no_rerank_returns_fused_order(searcher, corpus):
    searcher.ingest(corpus, chunking=SMALL)
    result = searcher.search("cancer risk", top_k=8, rerank=False, fusion=FusionSpec("rrf"))
    assert not result.reranked and "turned off" in result.rerank_reason
    assert [hit.fused.rank for hit in result.hits] == list(range(1, 9))
    assert all(hit.rerank.score is None for hit in result.hits)


def test_reingest_is_idempotent(searcher, corpus):
    first = searcher.ingest(corpus, chunking=SMALL)
    again = searcher.ingest(corpus, chunking=SMALL)
    assert again.indexed == 0 and again.unchanged == first.passages and again.deleted == 0
    assert searcher.count() == first.passages


def test_changed_document_replaces_its_passages(searcher, corpus):
    first = searcher.ingest(corpus, chunking=SMALL)
    lines = corpus.read_text().splitlines()
    doc = json.loads(lines[0])
    old = searcher.backend.existing_passages(searcher.index, [doc["_id"]])
    assert len(old) > 1
    doc["text"] = "A short replacement abstract about zebrafish fins."
    lines[0] = json.dumps(doc)
    corpus.write_text("\n".join(lines) + "\n")

    again = searcher.ingest(corpus, chunking=SMALL)
    assert again.indexed == 1 and again.deleted == len(old) - 1
    assert searcher.count() == first.passages - (len(old) - 1)
    [hit] = searcher.search("zebrafish fins", top_k=1, rerank=False).hits
    assert hit.passage_id == f"{doc['_id']}#0" and "zebrafish" in hit.text


def test_sync_removes_documents_no_longer_in_the_file(searcher, corpus):
    first = searcher.ingest(corpus, chunking=SMALL)
    lines = corpus.read_text().splitlines()
    dropped = [json.loads(line)["_id"] for line in lines[:2]]
    held = searcher.backend.existing_passages(searcher.index, dropped)
    corpus.write_text("\n".join(lines[2:]) + "\n")

    plain = searcher.ingest(corpus, chunking=SMALL)  # without --sync, nothing is removed
    assert plain.removed is None and plain.deleted == 0 and "removed=" not in plain.summary()
    assert searcher.count() == first.passages

    synced = searcher.ingest(corpus, chunking=SMALL, sync=True)
    assert synced.removed == 2 and synced.deleted == len(held) and synced.indexed == 0
    assert "removed=2 " in synced.summary()
    assert searcher.count() == first.passages - len(held)
    assert searcher.backend.existing_passages(searcher.index, dropped) == {}
    assert sorted(searcher.backend.doc_ids(searcher.index)) == sorted(
        json.loads(line)["_id"] for line in lines[2:]
    )
    assert searcher.ingest(corpus, chunking=SMALL, sync=True).removed == 0


def test_bad_input_leaves_the_index_untouched(searcher, corpus):
    report = searcher.ingest(corpus, chunking=SMALL)
    broken = corpus.with_name("broken.jsonl")
    broken.write_text(corpus.read_text() + '{"_id": "x", "text": \n')
    with pytest.raises(InputError, match=r"broken\.jsonl:13: invalid JSON"):
        searcher.ingest(broken, chunking=SMALL)
    assert searcher.count() == report.passages


def test_another_bi_encoder_or_chunking_is_refused(
    searcher, corpus, bi_encoder, backend_url, tmp_path
):
    searcher.ingest(corpus, chunking=SMALL)
    with pytest.raises(IndexMismatchError, match="chunked with chunk_size 64"):
        searcher.ingest(corpus, chunking=ChunkSpec(128, 16))
    renamed = copy.copy(bi_encoder)  # same weights under another name: still another model
    renamed.name = "another/model"
    with (
        Searcher(
            backend_url, searcher.index, data_dir=tmp_path / "store", bi_encoder=renamed
        ) as other,
        pytest.raises(IndexMismatchError, match="built with bi-encoder"),
    ):
        other.search("cancer", rerank=False)


def test_missing_index(backend_url, bi_encoder, tmp_path):
    searcher = Searcher(backend_url, "no-such-index", data_dir=tmp_path, bi_encoder=bi_encoder)
    with searcher, pytest.raises(IndexNotFoundError, match="ingest a corpus into it first"):
        searcher.search("anything", rerank=False)


def test_embedding_cache_serves_another_index_without_the_model(bi_encoder, corpus, tmp_path):
    cache = tmp_path / "cache" / "embeddings.sqlite"
    first = Searcher(None, "one", data_dir=tmp_path, bi_encoder=bi_encoder, embedding_cache=cache)
    with first:
        first.ingest(corpus, chunking=SMALL)
        vectors = {h.passage.passage_id: h.score for h in first.backend.dense("one", _probe(), 50)}

    class NoEmbedding(type(bi_encoder)):
        def encode(self, texts, batch_size=32):
            assert not texts, "every passage should come from the cache"
            return super().encode(texts, batch_size)

    second_encoder = NoEmbedding()
    second = Searcher(
        None, "two", data_dir=tmp_path, bi_encoder=second_encoder, embedding_cache=cache
    )
    with second:
        report = second.ingest(corpus, chunking=SMALL)
        assert report.indexed == report.passages > 12
        again = {h.passage.passage_id: h.score for h in second.backend.dense("two", _probe(), 50)}
    assert again == pytest.approx(vectors)


def _probe():
    import numpy as np

    return np.random.default_rng(3).standard_normal(384).astype("float32")


def test_a_long_document_shows_embedding_progress(bi_encoder, tmp_path, capsys, monkeypatch):
    encode = bi_encoder.encode

    def slow_encode(texts, batch_size=32):
        time.sleep(0.2)  # longer than tqdm's 0.1 s redraw interval, so every step is drawn
        return encode(texts, batch_size)

    monkeypatch.setattr(bi_encoder, "encode", slow_encode)
    corpus = tmp_path / "long.jsonl"
    corpus.write_text(json.dumps({"_id": "long", "text": "cell membranes fold " * 10000}) + "\n")
    searcher = Searcher(None, "long", data_dir=tmp_path / "store", bi_encoder=bi_encoder)
    report = searcher.ingest(corpus, chunking=SMALL, progress=True)
    assert report.documents == 1 and report.passages > 512
    progress = capsys.readouterr().err
    assert f"512/{report.passages}" in progress  # counted before the one document was stored


def test_searchers_share_a_configured_backend_and_one_model_pool(backend_url, corpus, tmp_path):
    from esrerank.backends import open_backend
    from esrerank.models.pool import ModelPool

    backend = open_backend(backend_url, tmp_path / "store")
    pool = ModelPool()
    pool.warm_up(bi_encoder="sentence-transformers/all-MiniLM-L6-v2")
    names = [f"pool-{n}-{tmp_path.name[-8:]}".lower() for n in ("a", "b")]
    first, second = (Searcher(index=name, backend=backend, models=pool) for name in names)
    try:
        first.ingest(corpus, chunking=SMALL)
        second.ingest(corpus, chunking=SMALL)
        assert first.encoder is second.encoder  # loaded once, shared by both indices
        one = first.search("cancer risk", rerank=False)
        two = second.search("cancer risk", rerank=False)
        assert [h.passage.passage_id for h in one.hits] == [h.passage.passage_id for h in two.hits]
    finally:
        for name in names:
            backend.delete_index(name)
        backend.close()


def test_a_rebuild_swaps_in_a_complete_copy_and_a_failed_one_changes_nothing(searcher, corpus):
    searcher.ingest(corpus, chunking=SMALL)
    backend, name = searcher.backend, searcher.index
    meta = backend.get_meta(name)
    passages = list(backend.passages(name))
    vectors = searcher.encoder.encode([p.content for p in passages])
    ids = [p.passage_id for p in passages]

    def stored():
        backend.refresh(name)
        return [p.passage_id for p in backend.passages(name)]

    def indices():  # the engine's indices under this name; the store keeps one file
        if backend.engine == "embedded":
            return [name]
        listed = backend.client.request("GET", f"/_cat/indices/{name}*", params={"format": "json"})
        return sorted(row["index"] for row in listed)

    with pytest.raises(ValueError):  # one vector short: fails while writing the copy
        backend.rebuild(name, meta, passages, vectors[:-1])
    assert stored() == ids and indices() == [name]  # the old one as it was, no copy left

    half = len(passages) // 2
    assert backend.rebuild(name, meta, passages[:half], vectors[:half]).indexed == half
    assert stored() == ids[:half]
    first_copy = indices()
    backend.rebuild(name, meta, passages, vectors)  # again, from the swapped-in copy
    assert stored() == ids and len(indices()) == 1
    if backend.engine != "embedded":
        assert indices() != first_copy != [name]  # each rebuild a new copy behind the alias
    assert searcher.search("cancer risk", rerank=False).hits
    assert name in backend.indices() and not any(  # listed by its name, not its copy's
        listed.startswith(f"{name}-") for listed in backend.indices()
    )


def test_the_backend_lists_esrerank_indices_only(searcher, corpus):
    searcher.ingest(corpus, chunking=SMALL)
    backend, name = searcher.backend, searcher.index
    backend.judgments(name).put([Judgment("cancer risk", "d1", 2)])  # their own index
    plain = f"plain-{name}"
    if backend.engine != "embedded":
        backend.client.request("PUT", f"/{plain}", {"mappings": {"properties": {}}})
    try:
        listed = backend.indices()
        assert name in listed and plain not in listed
        assert not any("judgments" in index for index in listed)
    finally:
        if backend.engine != "embedded":
            backend.client.request("DELETE", f"/{plain}")
            backend.client.request("DELETE", f"/{backend.judgments(name).index}")


def test_kept_fields_reach_an_older_index_and_survive_a_reembed(
    searcher, corpus, backend_url, bi_encoder, tmp_path
):
    searcher.ingest(corpus, chunking=SMALL)  # no other fields yet
    name = searcher.index
    if searcher.backend.engine != "embedded":  # as indices were mapped before fields were kept
        searcher.backend.client.request("PUT", f"/{name}/_mapping", {"dynamic": "strict"})
    documents = [json.loads(line) for line in corpus.read_text().splitlines()]
    for document in documents:
        document["lab"] = f"lab-{document['_id'][-1]}"
    with_fields = tmp_path / "with-fields.jsonl"
    with_fields.write_text("".join(json.dumps(d) + "\n" for d in documents))
    expected = {d["_id"]: d["lab"] for d in documents}

    store = tmp_path / "store"
    with Searcher(backend_url, name, data_dir=store, bi_encoder=bi_encoder) as later:
        report = later.ingest(with_fields, chunking=SMALL)
        assert report.failed == 0 and report.indexed == report.passages
        later.reembed(bi_encoder)
        stored = list(later.backend.passages(name))
        assert stored and all(p.fields == {"lab": expected[p.doc_id]} for p in stored)
        lab = documents[0]["lab"]
        hits = later.search("cancer", rerank=False, filter={"term": {"lab": lab}}).hits
        assert hits and all(hit.passage.fields["lab"] == lab for hit in hits)


def test_an_index_is_spread_as_asked_and_a_rebuild_keeps_its_layout(searcher, corpus):
    backend, name = searcher.backend, searcher.index
    if backend.engine == "embedded":
        pytest.skip("one file: the embedded store has no shards")
    searcher.ingest(corpus, chunking=SMALL, shards=Shards(3, 0))
    assert backend.shards(name) == Shards(3, 0)
    answer = searcher.search("cancer risk", rerank=False, top_k=3, candidates=12)
    assert len(answer.legs["bm25"]) == len(answer.legs["dense"]) == 12  # across the shards
    meta, passages = backend.get_meta(name), list(backend.passages(name))
    backend.rebuild(name, meta, passages, searcher.encoder.encode([p.content for p in passages]))
    assert backend.shards(name) == Shards(3, 0)  # the copy is spread as the index was


def test_a_new_index_has_a_replica_only_where_a_node_can_hold_it(searcher, corpus):
    backend, name = searcher.backend, searcher.index
    if backend.engine == "embedded":
        pytest.skip("one file: the embedded store has no shards")
    searcher.ingest(corpus, chunking=SMALL)
    layout = backend.shards(name)  # the cluster's primaries (1, or an index template's)
    assert layout.replicas is None  # auto: none on one node, one where a second can hold it
    health = backend.client.request(
        "GET", f"/_cluster/health/{name}", params={"wait_for_status": "green", "timeout": "60s"}
    )
    assert health["status"] == "green"
    nodes = backend.client.request("GET", "/_cluster/health")["number_of_data_nodes"]
    assert health["active_shards"] == layout.primaries * min(nodes, 2)
