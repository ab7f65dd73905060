"""OpenSearch 2.x / 3.x: ``knn_vector`` with HNSW on the ``lucene`` engine."""

from __future__ import annotations

from typing import Any

from .base import IndexMeta
from .rest import RestBackend, load_mapping


class OpenSearchBackend(RestBackend):
    engine = "opensearch"

    def _index_body(self, meta: IndexMeta) -> dict[str, Any]:
        body = load_mapping("opensearch")
        body["mappings"]["properties"]["embedding"]["dimension"] = meta.dimension
        return body

    def _knn_body(self, vector: list[float], k: int) -> dict[str, Any]:
        return {"size": k, "query": {"knn": {"embedding": {"vector": vector, "k": k}}}}
