"""The same corpus and queries give the same BM25, kNN and fused top 10 on every backend.

Corpus: the 300 SciFact abstracts of examples/sample (679 passages); queries: its 120 claims.

Tolerances, and why:
- BM25: the embedded analyzer approximates Lucene's UAX #29 word breaking with a regular
  expression, and Lucene scores in 32-bit floats, so a rare token can split differently and
  near-ties can swap. The top-10 *sets* must agree for 97% of queries, and each hit's score
  relative to its list's best must agree within 0.5% for 99% of shared hits (relative, because
  OpenSearch 3.x drops BM25's constant k1+1 factor).
- kNN: the engines search an HNSW graph (approximate), the embedded store is exact. On 679
  passages HNSW finds the true neighbours; top-10 sets must agree for 97% of queries, and scores
  within 1e-4 (float32 rounding).
- fused top 10 (min_max, arithmetic 0.5/0.5): inherits both, so lists must agree for 90% of
  queries and overlap 98% on average.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from esrerank import Searcher
from esrerank.corpus import read_queries

from .conftest import BACKENDS, require_backend

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TOP = 10


@pytest.fixture(scope="module")
def results(bi_encoder, sample_dir, tmp_path_factory):
    queries = [
        *read_queries(sample_dir / "queries.jsonl").values(),
        *read_queries(sample_dir / "train-queries.jsonl").values(),
    ]
    index = f"parity-{uuid.uuid4().hex[:8]}"
    store = tmp_path_factory.mktemp("parity")
    found = {}
    for name in BACKENDS:
        with Searcher(require_backend(name), index, data_dir=store, bi_encoder=bi_encoder) as s:
            try:
                s.ingest(sample_dir / "corpus.jsonl")
                found[name] = [s.search(q, top_k=TOP, rerank=False) for q in queries]
            finally:
                s.backend.delete_index(index)
    return found


def top_ids(result, leg):
    if leg == "fused":
        return list(result.fused.order[:TOP])
    return [hit.passage.passage_id for hit in result.legs[leg][:TOP]]


def relative_scores(result, leg):
    hits = result.legs[leg][:TOP]
    return {h.passage.passage_id: h.score / hits[0].score for h in hits} if hits else {}


@pytest.mark.parametrize("engine", ["opensearch", "elasticsearch"])
def test_bm25_parity(results, engine):
    pairs = list(zip(results["embedded"], results[engine], strict=True))
    same_sets = np.mean([set(top_ids(a, "bm25")) == set(top_ids(b, "bm25")) for a, b in pairs])
    assert same_sets >= 0.97
    close = []
    for a, b in pairs:
        ra, rb = relative_scores(a, "bm25"), relative_scores(b, "bm25")
        close += [abs(ra[pid] - rb[pid]) <= 0.005 * rb[pid] for pid in ra.keys() & rb.keys()]
    assert np.mean(close) >= 0.99


@pytest.mark.parametrize("engine", ["opensearch", "elasticsearch"])
def test_knn_parity(results, engine):
    pairs = list(zip(results["embedded"], results[engine], strict=True))
    same_sets = np.mean([set(top_ids(a, "dense")) == set(top_ids(b, "dense")) for a, b in pairs])
    assert same_sets >= 0.97
    for a, b in pairs:
        sa = {h.passage.passage_id: h.score for h in a.legs["dense"][:TOP]}
        for hit in b.legs["dense"][:TOP]:
            if hit.passage.passage_id in sa:
                assert hit.score == pytest.approx(sa[hit.passage.passage_id], abs=1e-4)


@pytest.mark.parametrize("engine", ["opensearch", "elasticsearch"])
def test_fused_parity(results, engine):
    pairs = list(zip(results["embedded"], results[engine], strict=True))
    identical = np.mean([top_ids(a, "fused") == top_ids(b, "fused") for a, b in pairs])
    overlap = np.mean(
        [len(set(top_ids(a, "fused")) & set(top_ids(b, "fused"))) / TOP for a, b in pairs]
    )
    assert identical >= 0.90
    assert overlap >= 0.98
