"""Training on real data: mining hard negatives on every backend, a reranker that learns what
it is shown, a bi-encoder whose index is then re-embedded in one call."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from esrerank import ChunkSpec, Searcher
from esrerank.errors import IndexMismatchError, InputError
from esrerank.models.hub import DEFAULT_BI_ENCODER
from esrerank.models.reranker import Reranker
from esrerank.training import (
    Candidate,
    DevQuery,
    Group,
    Settings,
    from_qrels,
    train_bi_encoder,
    train_reranker,
)
from esrerank.training.evaluation import reranked_mrr

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SMALL = ChunkSpec(size=64, overlap=16)


def sample_docs(sample_dir) -> list[dict]:
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def opening(doc: dict, words: int = 40) -> str:
    return " ".join(doc["text"].split()[:words])


def title_groups(docs: list[dict], negatives: int, seed: int) -> list[Group]:
    """Each title as a query; its abstract's opening relevant, other openings not."""
    rng = random.Random(seed)
    groups = []
    for doc in docs:
        others = rng.sample([d for d in docs if d is not doc], negatives)
        groups.append(Group(doc["title"], (opening(doc),), tuple(opening(d) for d in others)))
    return groups


def as_dev(groups: list[Group]) -> list[DevQuery]:
    """The relevant opening placed last, so a model must move it up to score."""
    return [
        DevQuery(
            g.query,
            tuple(Candidate(t, False) for t in g.negatives) + (Candidate(g.positives[0], True),),
        )
        for g in groups
    ]


@pytest.fixture(scope="module")
def trained_reranker(sample_dir, tmp_path_factory):
    docs = sample_docs(sample_dir)
    output = tmp_path_factory.mktemp("title-reranker")
    dev = as_dev(title_groups(docs[80:100], negatives=7, seed=2))
    report = train_reranker(
        title_groups(docs[:80], negatives=3, seed=1),
        output,
        dev=dev,
        negatives=3,
        max_length=96,
        settings=Settings(epochs=2, batch_size=8, learning_rate=1e-4),
    )
    return report, dev, output


def test_trained_reranker_ranks_held_out_relevant_passages_first(trained_reranker, sample_dir):
    _, _, output = trained_reranker
    held_out = as_dev(title_groups(sample_docs(sample_dir)[150:190], negatives=7, seed=3))
    reranker = Reranker(str(output), max_length=96)
    mrr = reranked_mrr(held_out, lambda query, texts: reranker.score(query, texts).scores)
    chance = np.mean([1 / r for r in range(1, 9)])  # one relevant among eight: 0.34
    assert mrr > chance + 0.25, f"MRR@10 {mrr:.3f} vs chance {chance:.3f}"


def test_saved_reranker_reloads_with_the_same_scores(trained_reranker):
    report, dev, output = trained_reranker
    recorded = json.loads((output / "training.json").read_text())
    assert recorded["best"]["mrr@10"] == report.best["mrr@10"]
    assert recorded["recipe"]["loss"] == "listwise" and len(recorded["history"]) == 2
    first, second = Reranker(str(output), max_length=96), Reranker(str(output), max_length=96)
    texts = [c.text for c in dev[0].candidates]
    np.testing.assert_array_equal(
        first.score(dev[0].query, texts).scores, second.score(dev[0].query, texts).scores
    )
    reloaded = reranked_mrr(dev, lambda query, texts: first.score(query, texts).scores)
    assert reloaded == pytest.approx(report.best["mrr@10"], abs=1e-12)


def test_mining_on_each_backend(searcher, bi_encoder, sample_dir):
    searcher.ingest(sample_dir / "corpus.jsonl")
    qrels_file = sample_dir / "train-queries.qrels.tsv"
    groups, dev = from_qrels(
        searcher.backend,
        searcher.index,
        sample_dir / "train-queries.jsonl",
        qrels_file,
        dev_qrels_file=None,
        dev_fraction=0.2,
        seed=5,
        encoder=bi_encoder,
        sources=("bm25", "dense"),
        depth=10,
        progress=False,
    )
    assert len(groups) == 80 and len(dev) == 20
    by_text = {p.content: p.doc_id for p in searcher.backend.passages(searcher.index)}
    qrels = {}
    for line in qrels_file.read_text().splitlines()[1:]:
        query_id, doc_id, _ = line.split("\t")
        qrels.setdefault(query_id, set()).add(doc_id)
    judged = {doc for docs in qrels.values() for doc in docs}
    for group in groups:
        assert group.positives and all(by_text[t] in judged for t in group.positives)
        positive_docs = {by_text[t] for t in group.positives}
        assert not positive_docs & {by_text[t] for t in group.negatives}
        assert 0 < len(group.negatives) <= 20
    for item in dev:
        relevant = [by_text[c.text] for c in item.candidates if c.relevant]
        assert all(doc in judged for doc in relevant)
    assert sum(any(c.relevant for c in item.candidates) for item in dev) >= 15


def test_qrels_naming_documents_not_in_the_index(searcher, sample_dir, tmp_path):
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()[:5]
    corpus = tmp_path / "five.jsonl"
    corpus.write_text("\n".join(lines) + "\n")
    searcher.ingest(corpus, chunking=SMALL)
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text(f"q\tc\ts\n1\t{json.loads(lines[0])['_id']}\t1\n1\tmissing-doc\t1\n")
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"_id": "1", "text": "anything"}\n')
    with pytest.raises(InputError, match=r"1 of 2 documents missing from index .*'missing-doc'"):
        from_qrels(
            searcher.backend,
            searcher.index,
            queries,
            qrels,
            dev_qrels_file=None,
            dev_fraction=0,
            seed=1,
            encoder=None,
            sources=("bm25",),
            depth=5,
            progress=False,
        )


@pytest.fixture(scope="module")
def trained_bi_encoder(sample_dir, tmp_path_factory):
    output = tmp_path_factory.mktemp("title-bi-encoder")
    docs = sample_docs(sample_dir)[:24]
    report = train_bi_encoder(
        title_groups(docs, negatives=1, seed=4),
        output,
        dev=as_dev(title_groups(sample_docs(sample_dir)[24:32], negatives=3, seed=5)),
        max_length=64,
        settings=Settings(batch_size=8, learning_rate=5e-5),
    )
    assert report.best is not None and (output / "config.json").is_file()
    return str(output)


def test_reembed_with_a_trained_bi_encoder(searcher, trained_bi_encoder, sample_dir, tmp_path):
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()[:12]
    corpus = tmp_path / "twelve.jsonl"
    corpus.write_text("\n".join(lines) + "\n")
    searcher.ingest(corpus, chunking=SMALL)
    before = {p.passage_id: p.content_hash for p in searcher.backend.passages(searcher.index)}

    report = searcher.reembed(trained_bi_encoder)

    assert report.documents == 12 and report.indexed == len(before) and report.failed == 0
    meta = searcher.backend.get_meta(searcher.index)
    assert (meta.model, meta.chunk_size, meta.chunk_overlap) == (trained_bi_encoder, 64, 16)
    after = {p.passage_id: p.content_hash for p in searcher.backend.passages(searcher.index)}
    assert after == before  # the same passages, only new vectors
    result = searcher.search("bariatric surgery", rerank=False)
    assert result.hits and result.legs["dense"]
    url = None if searcher.backend.engine == "embedded" else searcher.backend.location
    with Searcher(url, searcher.index, data_dir=tmp_path / "store") as own:
        assert own.encoder.name == trained_bi_encoder  # unnamed: the index's own model
    with (
        Searcher(
            url, searcher.index, data_dir=tmp_path / "store", bi_encoder=DEFAULT_BI_ENCODER
        ) as stale,
        pytest.raises(IndexMismatchError, match="built with bi-encoder"),
    ):
        stale.search("bariatric surgery", rerank=False)
