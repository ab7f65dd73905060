"""Elasticsearch 8.x / 9.x: ``dense_vector`` with HNSW and the top-level ``knn`` search.

Reached through opensearch-py like OpenSearch (``esrerank.backends.connection``): it answers every
request esrerank sends on 8.19.21 and 9.3.2, while elasticsearch-py 8.19.3 refuses OpenSearch
(``UnsupportedProductError``) and 9.5.1 refuses Elasticsearch 8 (400 "Accept version must be
either version 8 or 7, but found 9").
"""

from __future__ import annotations

from typing import Any

from .filters import Filter
from .rest import RestBackend
from .schema import IndexSchema

# HNSW explores this many candidates per shard for every hit asked for (at least 100).
NUM_CANDIDATES_FACTOR = 4


class ElasticsearchBackend(RestBackend):
    engine = "elasticsearch"
    dimension_key = "dims"

    def dense_body(
        self, schema: IndexSchema, vector: list[float], k: int, filter: Filter
    ) -> dict[str, Any]:
        """The top-level ``knn`` search; a filter goes in its own ``filter`` (applied while the
        graph is searched, so it finds the k nearest that match). On a nested vector field it
        returns documents, each scored by its best passage."""
        candidates = min(10_000, max(100, k * NUM_CANDIDATES_FACTOR))
        search: dict[str, Any] = {
            "field": schema.vector_field,
            "query_vector": vector,
            "k": k,
            "num_candidates": candidates,
        }
        if filter:
            search["filter"] = list(filter)
        return {"size": k, "knn": search}
