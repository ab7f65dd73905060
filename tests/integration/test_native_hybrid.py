"""OpenSearch's native hybrid query with plugin/opensearch/hybrid-pipeline.json fuses like
esrerank's default (min_max + arithmetic mean 0.5/0.5), on the same index and queries.

The plugin normalizes each leg's lowest hit to 0.001 instead of 0, so a fused score may differ by
up to 0.0005; everything else agrees to float32 rounding. The index has one primary: the native
hybrid query scores BM25 with each shard's own statistics (OpenSearch 2.19 answers it with
``search_type=dfs_query_then_fetch`` unnormalized), where esrerank's lexical leg uses the whole
index's, so on several primaries the two differ by design (docs/backends.md).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from esrerank import FusionSpec, Searcher, Shards
from esrerank.fusion import fuse_hits

from .conftest import require_backend

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PIPELINE = Path(__file__).parents[2] / "plugin" / "opensearch" / "hybrid-pipeline.json"
FLOOR_DIFFERENCE = 0.0005 + 1e-5


def test_native_opensearch_hybrid_matches_client_fusion(bi_encoder, sample_dir, tmp_path):
    url = require_backend("opensearch")
    index = f"native-{uuid.uuid4().hex[:8]}"
    searcher = Searcher(url, index, data_dir=tmp_path, bi_encoder=bi_encoder)
    client = searcher.backend.client
    try:
        searcher.ingest(sample_dir / "corpus.jsonl", shards=Shards(primaries=1))
        client.request("PUT", f"/_search/pipeline/{index}", json.loads(PIPELINE.read_text()))
        claims = [json.loads(line)["text"] for line in (sample_dir / "queries.jsonl").open()]
        vectors = bi_encoder.encode_queries(claims)
        same_top10 = 0
        for claim, vector in zip(claims, vectors, strict=True):
            bm25, knn = searcher.backend.both_legs(index, claim, vector, 100)
            ours = fuse_hits({"bm25": bm25, "dense": knn}, FusionSpec())
            body = {
                "size": 100,
                "_source": False,
                "query": {
                    "hybrid": {
                        "queries": [
                            {"match": {"content": {"query": claim}}},
                            {"knn": {"embedding": {"vector": vector.tolist(), "k": 100}}},
                        ]
                    }
                },
            }
            answer = client.request(
                "POST", f"/{index}/_search", body, params={"search_pipeline": index}
            )
            native = {hit["_id"]: hit["_score"] for hit in answer["hits"]["hits"]}
            assert set(native) <= set(ours.scores)
            for passage_id, score in native.items():
                assert score == pytest.approx(ours.scores[passage_id], abs=FLOOR_DIFFERENCE)
            top_native = sorted(native, key=lambda pid: (-native[pid], pid))[:10]
            same_top10 += set(top_native) == set(ours.order[:10])
        assert same_top10 >= 0.9 * len(claims)
    finally:
        client.request("DELETE", f"/_search/pipeline/{index}")
        searcher.backend.delete_index(index)
        searcher.close()
