"""OpenSearch 2.x / 3.x: ``knn_vector`` with HNSW on the ``lucene`` engine."""

from __future__ import annotations

from typing import Any

from ..filters import Filter
from ..schema import IndexSchema
from .base import IndexMeta
from .rest import RestBackend, load_mapping


class OpenSearchBackend(RestBackend):
    engine = "opensearch"

    def _index_body(self, meta: IndexMeta) -> dict[str, Any]:
        body = load_mapping("opensearch")
        body["mappings"]["properties"]["embedding"]["dimension"] = meta.dimension
        return body

    def _knn_body(
        self, schema: IndexSchema, vector: list[float], k: int, filter: Filter
    ) -> dict[str, Any]:
        """The ``knn`` query; a filter goes inside it (the lucene engine's efficient filtering:
        the k nearest that match, searched exactly when few match), as one clause."""
        search: dict[str, Any] = {"vector": vector, "k": k}
        if filter:
            search["filter"] = {"bool": {"filter": list(filter)}}
        return {"size": k, "query": {"knn": {schema.vector_field: search}}}
