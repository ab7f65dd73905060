"""Elasticsearch 8.x / 9.x: ``dense_vector`` with HNSW and the top-level ``knn`` search."""

from __future__ import annotations

from typing import Any

from .base import IndexMeta
from .rest import RestBackend, load_mapping

# HNSW explores this many candidates per shard for every hit asked for (at least 100).
NUM_CANDIDATES_FACTOR = 4


class ElasticsearchBackend(RestBackend):
    engine = "elasticsearch"

    def _index_body(self, meta: IndexMeta) -> dict[str, Any]:
        body = load_mapping("elasticsearch")
        body["mappings"]["properties"]["embedding"]["dims"] = meta.dimension
        return body

    def _knn_body(self, vector: list[float], k: int) -> dict[str, Any]:
        candidates = min(10_000, max(100, k * NUM_CANDIDATES_FACTOR))
        return {
            "size": k,
            "knn": {
                "field": "embedding",
                "query_vector": vector,
                "k": k,
                "num_candidates": candidates,
            },
        }
