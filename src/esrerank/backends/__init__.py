"""Backends: the embedded on-disk store, OpenSearch and Elasticsearch."""

from __future__ import annotations

from pathlib import Path

from ..errors import BackendError, ConfigError
from .base import Backend, BulkResult, IndexMeta, Shards
from .connection import Cluster
from .elasticsearch import ElasticsearchBackend
from .embedded import EmbeddedBackend
from .http import HttpClient
from .opensearch import OpenSearchBackend

__all__ = [
    "Backend",
    "BulkResult",
    "ElasticsearchBackend",
    "EmbeddedBackend",
    "IndexMeta",
    "OpenSearchBackend",
    "Shards",
    "open_backend",
]

SUPPORTED = {"opensearch": (2, 3), "elasticsearch": (8, 9)}


def open_backend(cluster: str | Cluster | None, data_dir: str | Path) -> Backend:
    """The embedded store when ``cluster`` is empty, else the engine found there (a URL, or a
    ``Cluster`` with credentials and TLS settings)."""
    if not cluster:
        if Path(data_dir).expanduser().is_file():
            raise ConfigError(
                f"The data folder {data_dir} is a file: point `data_dir` at a folder.",
                settings=("data_dir",),
            )
        return EmbeddedBackend(data_dir)
    client = HttpClient.connect(Cluster(cluster) if isinstance(cluster, str) else cluster)
    url = client.url
    root = client.request("GET", "/")
    version = root.get("version", {})
    engine = "opensearch" if version.get("distribution") == "opensearch" else "elasticsearch"
    number = str(version.get("number", "0"))
    major = int(number.split(".")[0]) if number.split(".")[0].isdigit() else 0
    if major not in SUPPORTED[engine]:
        client.close()
        majors = " or ".join(f"{m}.x" for m in SUPPORTED[engine])
        raise BackendError(
            f"{engine} {number} at {url} is not supported: esrerank needs {engine} {majors}."
        )
    backend_class = OpenSearchBackend if engine == "opensearch" else ElasticsearchBackend
    return backend_class(client, number)
