"""esrerank: hybrid BM25 + kNN retrieval with cross-encoder reranking for Elasticsearch,
OpenSearch and an embedded on-disk store."""

from .connection import Cluster
from .corpus import ChunkSpec, Fields
from .errors import (
    AuthenticationError,
    AuthorizationError,
    BackendError,
    ClusterUnreachableError,
    ConfigError,
    EsrerankError,
    IndexMismatchError,
    IndexNotFoundError,
    InputError,
    ModelError,
)
from .fusion import FusionSpec
from .pipeline import Searcher, SearchResult
from .runtimes import Runtime
from .types import Hit, IngestReport, Passage, StageScore

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "AuthorizationError",
    "BackendError",
    "ChunkSpec",
    "Cluster",
    "ClusterUnreachableError",
    "ConfigError",
    "EsrerankError",
    "Fields",
    "FusionSpec",
    "Hit",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IngestReport",
    "InputError",
    "ModelError",
    "Passage",
    "Runtime",
    "SearchResult",
    "Searcher",
    "StageScore",
]
