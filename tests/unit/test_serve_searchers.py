"""serve's searchers per index, on a real on-disk embedded store (no model is loaded)."""

import pytest

from esrerank.backends import EmbeddedBackend, IndexMeta
from esrerank.errors import IndexNotFoundError
from esrerank.models.pool import ModelPool
from esrerank.searcher import Searcher
from esrerank.serve.searchers import Searchers

META = IndexMeta(model="test-model", dimension=3, chunk_size=10, chunk_overlap=0)


@pytest.fixture
def searchers(tmp_path):
    backend = EmbeddedBackend(tmp_path)
    for index in ("main", "a", "b", "c"):
        backend.create_index(index, META)
    started = Searcher(index="main", backend=backend, models=ModelPool())
    yield Searchers(started, limit=2)
    backend.close()


def test_the_started_index_is_searched_with_the_started_searcher(searchers):
    searcher, schema = searchers.open("main")
    assert searcher is searchers.started
    assert schema.text_field


def test_another_index_gets_a_searcher_sharing_the_backend_and_models(searchers):
    searcher, _ = searchers.open("a")
    assert searcher.index == "a"
    assert searcher.backend is searchers.started.backend
    assert searcher.models is searchers.started.models
    assert searchers.open("a")[0] is searcher


def test_an_index_that_does_not_exist_gets_no_searcher(searchers):
    for name in ("missing-1", "missing-2", "missing-3"):
        with pytest.raises(IndexNotFoundError):
            searchers.open(name)
    assert len(searchers) == 0


def test_searchers_are_kept_in_last_used_order_up_to_the_bound(searchers):
    first_a = searchers.open("a")[0]
    searchers.open("main")
    searchers.open("b")
    searchers.open("a")  # used again: "main" is now the oldest
    searchers.open("c")
    assert len(searchers) == 3  # the bound, and the started index
    assert searchers.open("a")[0] is first_a
    assert searchers.open("main")[0] is searchers.started
