"""Tuning from judgments, fast (``tests/memory.py``'s in-memory parts): too few judged queries
change nothing and say how many it takes; enough run the guard, apply only what it kept, and
the change is undone."""

from __future__ import annotations

import pytest

from esrerank.backends.judgments import Judgment
from esrerank.evaluation.judged_tuning import MIN_QUERIES, queries_needed, tune_on_judgments
from esrerank.fusion import FusionSpec
from tests.memory import (
    memory_searcher,
)

pytest.importorskip("pytrec_eval")

TOPICS = {
    "vitamin": "Vitamin D supplements and bone fractures in older adults",
    "surgery": "Bariatric surgery and mortality in severe obesity",
    "statins": "Statins and cardiovascular events in patients with high cholesterol",
    "exercise": "Exercise and bone density in older women",
    "cancer": "Surgery for obesity and colorectal cancer risk",
    "cold": "Vitamin C and the common cold in children",
}


@pytest.fixture
def searcher(tmp_path):
    docs = {
        f"{topic}-{n}": f"{text}, study {n} of {n * 3} people."
        for topic, text in TOPICS.items()
        for n in range(4)
    }
    return memory_searcher(tmp_path, docs)


def judged(queries: int) -> list[Judgment]:
    """Queries naming a topic and a study number; that study judged relevant, another
    topic's study not. Word overlap (the reranker here, and BM25) finds the study; the
    hashing bi-encoder does not, so reranking the fused order pays."""
    made = []
    for number in range(queries):
        topic = list(TOPICS)[number % len(TOPICS)]
        study = number // len(TOPICS)
        query = f"{' '.join(TOPICS[topic].split()[:3])} study {study}"
        other = "statins" if topic != "statins" else "cold"
        made += [Judgment(query, f"{topic}-{study}", 3), Judgment(query, f"{other}-{study}", 0)]
    return made


def test_too_few_judged_queries_change_nothing_and_say_so(searcher):
    record = tune_on_judgments(searcher, judged(MIN_QUERIES - 1), cache_path=None)
    assert not record["decided"] and record["changes"] == []
    assert f"at least {MIN_QUERIES}" in record["why"]
    assert searcher.handle.tuning_history() == [] and "fusion" not in searcher.meta().extra


def test_the_guard_decides_applies_what_it_kept_and_the_change_is_undone(searcher, tmp_path):
    dense_only = FusionSpec(weights=(0.0, 1.0))  # a poor setting for these queries
    searcher.handle.store_fusion(dense_only, {"tuned_on": "by hand"})
    before = dict(searcher.meta().extra)
    record = tune_on_judgments(searcher, judged(24), cache_path=tmp_path / "scores.sqlite")
    assert record["decided"] and record["queries"] == 24
    fusion, rerank = record["changes"]
    assert (fusion["setting"], rerank["setting"]) == ("fusion", "rerank")
    assert fusion["kept"] and fusion["applied"]
    assert fusion["why"].startswith(f"{fusion['best']} beats bm25 alone by +")
    assert rerank["applied"] == rerank["kept"]
    if not rerank["kept"]:
        assert rerank["why"].startswith("the index keeps its setting: the gain of")
    hybrid = record["measures"]["hybrid"]
    assert hybrid["after"] > hybrid["before"]
    assert set(record["measures"]) == {"bm25", "dense", "hybrid", "hybrid+rerank"}
    stored = searcher.handle.stored_fusion()
    assert stored != dense_only and stored.describe() == fusion["best"]
    assert searcher.meta().extra["fusion"]["tuned_on"] == "docs judgments"
    assert len(searcher.handle.tuning_history()) == record["history"] == 1

    undone = searcher.handle.undo_tuning()
    assert undone["change"].startswith("tuned from 24 judged queries: fusion")
    assert searcher.meta().extra == before and searcher.handle.stored_fusion() == dense_only
    assert searcher.handle.undo_tuning() is None  # nothing more to undo


def test_no_decision_applied_means_nothing_remembered(searcher, tmp_path):
    record = tune_on_judgments(
        searcher, judged(24), apply=False, cache_path=tmp_path / "scores.sqlite"
    )
    assert not record["applied"] and searcher.handle.tuning_history() == []


@pytest.mark.parametrize(
    ("count", "gain", "t", "needed"),
    [(30, 0.02, 0.8225, 120), (30, 0.02, 3.0, 30), (30, -0.01, -1.0, None), (30, 0.0, 0.0, None)],
)
def test_queries_needed_grows_with_the_square_of_the_missing_t(count, gain, t, needed):
    assert queries_needed(count, gain, t) == needed
