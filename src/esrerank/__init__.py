"""esrerank: hybrid BM25 + kNN retrieval with cross-encoder reranking for Elasticsearch,
OpenSearch and an embedded on-disk store."""

from .backends.base import Shards
from .backends.connection import Cluster
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
from .models.runtimes import Runtime
from .searcher import Searcher, SearchResult
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
    "Shards",
    "StageScore",
]
