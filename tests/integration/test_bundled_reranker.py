"""The reranker shipped inside esrerank: found offline in place of the hub default, and its
weights are the trained ones (a random head would rank gold passages at chance)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from esrerank import models
from esrerank.corpus import read_qrels, read_queries
from esrerank.models import OFFLINE_CROSS_ENCODER, bundled_available
from esrerank.rerank import Reranker
from esrerank.training import Candidate, DevQuery
from esrerank.training.evaluation import reranked_mrr

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def offline_default(monkeypatch_module) -> Reranker:
    assert bundled_available(OFFLINE_CROSS_ENCODER), "the shipped reranker is not installed"
    return Reranker()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setattr(models, "_from_hub_cache", lambda name: None)  # as on a fresh machine
        yield patch


def test_offline_default_is_the_bundled_reranker(offline_default):
    assert offline_default.name == OFFLINE_CROSS_ENCODER


def test_bundled_reranker_ranks_gold_abstracts_well_above_chance(offline_default, sample_dir):
    docs = {
        d["_id"]: f"{d['title']} {d['text']}"
        for d in map(json.loads, (sample_dir / "corpus.jsonl").read_text().splitlines())
    }
    queries = read_queries(sample_dir / "queries.jsonl")
    qrels = read_qrels(sample_dir / "queries.qrels.tsv")
    rng = random.Random(7)
    dev = []
    for query_id, relevant in sorted(qrels.items()):
        gold = sorted(relevant)[0]
        others = rng.sample(sorted(set(docs) - set(relevant)), 9)
        candidates = [Candidate(docs[d], False) for d in others] + [Candidate(docs[gold], True)]
        dev.append(DevQuery(queries[query_id], tuple(candidates)))
    mrr = reranked_mrr(dev, lambda query, texts: offline_default.score(query, texts).scores)
    chance = np.mean([1 / r for r in range(1, 11)])  # one gold among ten: 0.29
    assert mrr > chance + 0.4, f"MRR@10 {mrr:.3f} vs chance {chance:.3f}"
