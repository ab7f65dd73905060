"""OpenSearch 2.x / 3.x: ``knn_vector`` with HNSW on the ``lucene`` engine."""

from __future__ import annotations

from typing import Any

from .filters import Filter
from .rest import RestBackend
from .schema import IndexSchema


class OpenSearchBackend(RestBackend):
    engine = "opensearch"
    dimension_key = "dimension"

    def vectors_blocked(self, index: str) -> str | None:
        """HNSW vectors need ``index.knn``, a setting OpenSearch fixes when an index is made."""
        answer = self.client.request("GET", f"/{index}/_settings")
        settings = next(iter(answer.values()))["settings"]["index"]
        if str(settings.get("knn", "false")).lower() == "true":
            return None
        return (
            f"index '{index}' has index.knn off, a setting OpenSearch fixes when an index is "
            "created, so no vector field can be added to it"
        )

    def dense_body(
        self, schema: IndexSchema, vector: list[float], k: int, filter: Filter
    ) -> dict[str, Any]:
        """The ``knn`` query; a filter goes inside it (the lucene engine's efficient filtering:
        the k nearest that match, searched exactly when few match), as one clause."""
        search: dict[str, Any] = {"vector": vector, "k": k}
        if filter:
            search["filter"] = {"bool": {"filter": list(filter)}}
        query: dict[str, Any] = {"knn": {schema.vector_field: search}}
        if schema.nested:  # the best passage scores its document; a filter may test the document
            query = {"nested": {"path": schema.nested, "query": query, "score_mode": "max"}}
        return {"size": k, "query": query}
