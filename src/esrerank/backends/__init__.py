"""Backends: the embedded on-disk store, OpenSearch and Elasticsearch."""

from __future__ import annotations

from pathlib import Path

from ..errors import BackendError, ConfigError
from .base import Backend, BulkResult, IndexMeta
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
    "open_backend",
]

SUPPORTED = {"opensearch": (2, 3), "elasticsearch": (8, 9)}


def open_backend(url: str | None, data_dir: str | Path, timeout: float = 60.0) -> Backend:
    """The embedded store when ``url`` is empty, else the engine found at ``url``."""
    if not url:
        if Path(data_dir).expanduser().is_file():
            raise ConfigError(
                f"The data folder {data_dir} is a file: point data_dir at a folder.",
                settings=("data_dir",),
            )
        return EmbeddedBackend(data_dir)
    client = HttpClient(url, timeout=timeout)
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
