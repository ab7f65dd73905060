"""The reranker shipped inside esrerank: found offline in place of the hub default, and its
weights are the trained ones (a random head would rank gold passages at chance)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from esrerank.corpus import read_qrels, read_queries
from esrerank.models.hub import OFFLINE_CROSS_ENCODER, bundled_available
from esrerank.models.reranker import Reranker
from esrerank.training import Candidate, DevQuery
from esrerank.training.evaluation import reranked_mrr

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def offline_default() -> Reranker:
    assert bundled_available(OFFLINE_CROSS_ENCODER), "the shipped reranker is not installed"
    return Reranker(OFFLINE_CROSS_ENCODER)


def test_offline_default_is_the_bundled_reranker(tmp_path):
    """On a fresh machine (an empty hub cache, the hub out of reach) the default reranker is the
    shipped one."""
    environment = {
        **os.environ,
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_CACHE": str(tmp_path / "hf" / "hub"),
        "HF_HUB_OFFLINE": "1",
    }
    chosen = subprocess.run(
        [
            sys.executable,
            "-c",
            "from esrerank.models.reranker import Reranker; print(Reranker().name)",
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.split() == [OFFLINE_CROSS_ENCODER]


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


def test_vocabulary_check_skips_korean_and_not_english(offline_default, sample_dir):
    """The English reranker cuts Hangul into jamo; it is not run on Korean text."""
    wiki = json.loads((Path(__file__).parents[1] / "data" / "mrc-wiki-sample.json").read_text())
    korean = [doc["text"] for doc in wiki.values()]
    why = offline_default.unreadable(["서울의 지하철은 언제 개통했나?", *korean])
    assert "vocabulary does not cover this text" in why
    english = [json.loads(line)["text"] for line in (sample_dir / "corpus.jsonl").open()][:10]
    claims = [json.loads(line)["text"] for line in (sample_dir / "queries.jsonl").open()]
    assert not any(offline_default.unreadable([claim, *english]) for claim in claims)
    assert not offline_default.unreadable(["Activation of PPM1D enhances p53 function."])


def test_a_korean_query_is_not_reranked_and_says_why(offline_default, bi_encoder, tmp_path):
    from esrerank import Searcher

    wiki = Path(__file__).parents[1] / "data" / "mrc-wiki-sample.json"
    searcher = Searcher(
        None, "ko", data_dir=tmp_path, bi_encoder=bi_encoder, reranker=offline_default
    )
    with searcher:
        searcher.ingest(wiki, analyzer="cjk")
        result = searcher.search("서울의 지하철은 언제 개통했나?")
    assert not result.reranked and "vocabulary does not cover" in result.rerank_reason
    assert "rerank" not in result.timings
