"""Filtered search and documents' own fields, the same on every backend.

Corpus: the 300 SciFact abstracts of examples/sample, each given a seeded ``category`` (one of
four), a ``year`` and a list of ``tags``; queries: 40 of its claims.

What must hold, and why:
- every hit of every leg and every final hit matches the filter (the filter is part of each
  leg's search, not applied to its results);
- a filtered leg returns the best matching passages, as many as unfiltered where that many
  match: its top 10 equals the unfiltered ranking restricted to matching passages. Exact for
  BM25 on every backend (a filter does not change BM25's statistics) and for kNN on the
  embedded store; the engines' filtered HNSW search is approximate, so there 95% of queries;
- the three backends agree on the filtered top 10 sets (as the parity tests, 97%);
- hits carry the document's other fields as ingested.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import numpy as np
import pytest

from esrerank import Searcher
from esrerank.config import DEFAULT_CANDIDATES
from esrerank.corpus import read_queries

from .conftest import BACKENDS, require_backend

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TOP = 10
DEEP = 1000  # more than the sample's passages: the whole unfiltered ranking
CATEGORIES = ("biology", "chemistry", "medicine", "physics")


def seeded_fields(doc_id: str) -> dict:
    digest = int(hashlib.sha1(doc_id.encode()).hexdigest(), 16)
    return {
        "category": CATEGORIES[digest % 4],
        "year": 2000 + digest % 25,
        "tags": ["even" if digest % 2 == 0 else "odd", f"t{digest % 3}"],
    }


# Each filter, and the same condition written in Python over the seeded fields.
FILTERS = {
    "term": ({"term": {"category": "medicine"}}, lambda f: f["category"] == "medicine"),
    "terms": (
        {"terms": {"category": ["biology", "physics"]}},
        lambda f: f["category"] in ("biology", "physics"),
    ),
    "range": ({"range": {"year": {"gte": 2010, "lt": 2018}}}, lambda f: 2010 <= f["year"] < 2018),
    "list field and bool": (
        [{"term": {"tags": "odd"}}, {"bool": {"must_not": [{"term": {"category": "biology"}}]}}],
        lambda f: "odd" in f["tags"] and f["category"] != "biology",
    ),
}


@pytest.fixture(scope="module")
def seeded_corpus(sample_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("filters") / "corpus.jsonl"
    with open(path, "w") as out:
        for line in (sample_dir / "corpus.jsonl").read_text().splitlines():
            document = json.loads(line)
            document.update(seeded_fields(document["_id"]))
            out.write(json.dumps(document) + "\n")
    return path


@pytest.fixture(scope="module")
def searches(bi_encoder, sample_dir, seeded_corpus, tmp_path_factory):
    """Per backend and filter: (filtered search, unfiltered deep BM25, unfiltered deep kNN)."""
    queries = list(read_queries(sample_dir / "queries.jsonl").values())[:40]
    index = f"filters-{uuid.uuid4().hex[:8]}"
    store = tmp_path_factory.mktemp("store")
    found = {}
    for name in BACKENDS:
        with Searcher(require_backend(name), index, data_dir=store, bi_encoder=bi_encoder) as s:
            try:
                s.ingest(seeded_corpus)
                vectors = s.encoder.encode_queries(queries)
                deep_bm25 = s.backend.bm25_many(index, queries, DEEP)
                deep_knn = s.backend.dense_many(index, vectors, DEEP)
                found[name] = {
                    label: [
                        (
                            s.search(q, top_k=TOP, rerank=False, filter=clauses),
                            deep_bm25[i],
                            deep_knn[i],
                        )
                        for i, q in enumerate(queries)
                    ]
                    for label, (clauses, _) in FILTERS.items()
                }
            finally:
                s.backend.delete_index(index)
    return found


def ids(hits) -> list[str]:
    return [hit.passage.passage_id for hit in hits[:TOP]]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("label", FILTERS)
def test_every_hit_matches_the_filter_and_carries_its_fields(searches, backend, label):
    wanted = FILTERS[label][1]
    for result, _, _ in searches[backend][label]:
        every = [*result.hits, *(hit for hits in result.legs.values() for hit in hits)]
        assert every, "a filtered search found nothing"
        for hit in every:
            assert hit.passage.fields == seeded_fields(hit.passage.doc_id)
            assert wanted(hit.passage.fields), (label, hit.passage.passage_id)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("label", FILTERS)
def test_a_filtered_leg_returns_the_best_matching_passages(searches, backend, label):
    wanted = FILTERS[label][1]
    agree = {"bm25": [], "dense": []}
    for result, deep_bm25, deep_knn in searches[backend][label]:
        for leg, deep in (("bm25", deep_bm25), ("dense", deep_knn)):
            restricted = [hit for hit in deep if wanted(hit.passage.fields)]
            agree[leg].append(ids(result.legs[leg]) == ids(restricted))
            # still a full leg where enough passages match (DEEP holds every one that does)
            assert len(result.legs[leg]) == min(DEFAULT_CANDIDATES, len(restricted))
    assert all(agree["bm25"])
    assert np.mean(agree["dense"]) >= (1.0 if backend == "embedded" else 0.95)


@pytest.mark.parametrize("engine", ["opensearch", "elasticsearch"])
@pytest.mark.parametrize("label", FILTERS)
def test_backends_agree_on_filtered_results(searches, engine, label):
    pairs = list(zip(searches["embedded"][label], searches[engine][label], strict=True))
    for leg in ("bm25", "dense"):
        same = [set(ids(a.legs[leg])) == set(ids(b.legs[leg])) for (a, _, _), (b, _, _) in pairs]
        assert np.mean(same) >= 0.97, leg
