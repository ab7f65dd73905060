"""Fixtures for tests against real stores: the embedded store in a temporary folder, and the
OpenSearch / Elasticsearch nodes that ``scripts/engines.sh start`` runs on this machine.

Locally a stopped engine skips its tests with a message; in CI (``CI=true``) it fails them.
"""

from __future__ import annotations

import functools
import os
import uuid
from pathlib import Path

import numpy as np
import pytest
import requests

from esrerank import Searcher
from esrerank.models.bi_encoder import BiEncoder
from esrerank.training import Group, Settings, train_reranker

ENGINE_URLS = {
    "opensearch": os.environ.get("ESRERANK_TEST_OPENSEARCH_URL", "http://127.0.0.1:9201"),
    "elasticsearch": os.environ.get("ESRERANK_TEST_ELASTICSEARCH_URL", "http://127.0.0.1:9202"),
}
BACKENDS = ("embedded", "opensearch", "elasticsearch")
SAMPLE = Path(__file__).parents[2] / "examples" / "sample"


class MemoBiEncoder(BiEncoder):
    """The real bi-encoder, remembering each text's vector so every backend reuses it."""

    @functools.cached_property
    def _memo(self) -> dict[str, np.ndarray]:
        return {}

    def encode(self, texts, batch_size=32):
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            self._memo.update(zip(missing, super().encode(missing, batch_size), strict=True))
        if not texts:
            return super().encode(texts)
        return np.array([self._memo[t] for t in texts], dtype=np.float32)


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The SciFact sample shipped in examples/ (see examples/build_sample.py)."""
    return SAMPLE


@pytest.fixture
def sample_corpus(tmp_path, sample_dir):
    """``sample_corpus(n)``: the first ``n`` abstracts of the shipped sample as a JSONL file."""

    def write(documents: int) -> Path:
        lines = (sample_dir / "corpus.jsonl").read_text().splitlines()[:documents]
        path = tmp_path / "corpus.jsonl"
        path.write_text("\n".join(lines) + "\n")
        return path

    return write


@pytest.fixture(scope="session")
def bi_encoder() -> BiEncoder:
    return MemoBiEncoder()


@pytest.fixture(scope="session")
def tiny_reranker(tmp_path_factory) -> str:
    """A cross-encoder trained for a few steps: enough to exercise the rerank stage."""
    output = tmp_path_factory.mktemp("reranker")
    groups = [
        Group("quick fox", ("the quick brown fox",), ("tax law in Belgium",)),
        Group("lazy dog", ("the lazy dog sleeps",), ("protein folding",)),
    ]
    train_reranker(groups, output, negatives=1, max_length=32, settings=Settings(batch_size=2))
    return str(output)


def _engine_up(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def require_backend(name: str) -> str | None:
    """``None`` for the embedded store, else the URL of the running engine (skip or fail)."""
    if name == "embedded":
        return None
    url = ENGINE_URLS[name]
    if not _engine_up(url):
        message = f"{name} is not running at {url}: start it with 'scripts/engines.sh start'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(params=BACKENDS)
def backend_url(request) -> str | None:
    return require_backend(request.param)


@pytest.fixture
def searcher(backend_url, bi_encoder, tmp_path):
    """A searcher on a fresh, uniquely named index that is deleted afterwards."""
    index = f"test-{uuid.uuid4().hex[:10]}"
    instance = Searcher(backend_url, index, data_dir=tmp_path / "store", bi_encoder=bi_encoder)
    yield instance
    instance.backend.delete_index(index)
    instance.close()


@pytest.fixture(scope="session")
def sample_beir(tmp_path_factory, sample_dir):
    """The sample as a BEIR folder: its 20 test claims, and its 100 training claims as dev."""
    folder = tmp_path_factory.mktemp("sample-beir")
    (folder / "qrels").mkdir()
    (folder / "corpus.jsonl").write_text((sample_dir / "corpus.jsonl").read_text())
    (folder / "queries.jsonl").write_text(
        (sample_dir / "queries.jsonl").read_text()
        + (sample_dir / "train-queries.jsonl").read_text()
    )
    (folder / "qrels" / "test.tsv").write_text((sample_dir / "queries.qrels.tsv").read_text())
    (folder / "qrels" / "dev.tsv").write_text((sample_dir / "train-queries.qrels.tsv").read_text())
    return folder
