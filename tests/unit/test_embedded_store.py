"""The embedded store on a real on-disk SQLite file, with hand-made vectors (no model)."""

import math

import numpy as np
import pytest

from esrerank.backends import EmbeddedBackend, IndexMeta
from esrerank.backends.analysis import encoded_length
from esrerank.errors import IndexMismatchError, IndexNotFoundError
from esrerank.types import Passage

META = IndexMeta(model="test-model", dimension=3, chunk_size=10, chunk_overlap=0)


def passage(pid, text, title=""):
    doc_id = pid.split("#")[0]
    return Passage(pid, doc_id, title, text, int(pid.split("#")[1]), 0, len(text), f"h-{text}")


@pytest.fixture
def store(tmp_path):
    backend = EmbeddedBackend(tmp_path)
    backend.create_index("idx", META)
    docs = [
        passage("a#0", "the quick brown fox"),
        passage("b#0", "the lazy dog sleeps all day long in the sun"),
        passage("c#0", "quick quick quick"),
    ]
    vectors = np.array([[1, 0, 0], [0, 1, 0], [0.6, 0.8, 0]], dtype=np.float32)
    backend.upsert("idx", docs, vectors)
    yield backend
    backend.close()


def test_bm25_matches_lucene_formula(store):
    hits = store.bm25("idx", "quick", 10)
    assert [h.passage.passage_id for h in hits] == ["c#0", "a#0"]
    n, df = 3, 2
    avgdl = (4 + 10 + 3) / 3
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))

    def score(tf, dl):
        return idf * 2.2 * tf / (tf + 1.2 * (1 - 0.75 + 0.75 * encoded_length(dl) / avgdl))

    assert hits[0].score == pytest.approx(score(3, 3))
    assert hits[1].score == pytest.approx(score(1, 4))
    assert [h.rank for h in hits] == [1, 2]


def test_knn_is_exact_cosine_scored_like_the_engines(store):
    hits = store.dense("idx", np.array([1.0, 0.0, 0.0]), 2)
    assert [h.passage.passage_id for h in hits] == ["a#0", "c#0"]
    assert hits[0].score == pytest.approx((1 + 1.0) / 2)
    assert hits[1].score == pytest.approx((1 + 0.6) / 2)


def test_upsert_replaces_and_delete_removes(store):
    store.upsert("idx", [passage("a#0", "completely new words")], np.array([[0, 0, 1.0]]))
    assert store.count("idx") == 3
    assert store.bm25("idx", "fox", 10) == []
    assert [h.passage.passage_id for h in store.bm25("idx", "words", 10)] == ["a#0"]
    assert store.delete("idx", ["a#0", "missing#0"]) == 1
    assert store.count("idx") == 2
    assert store.existing_passages("idx", ["a", "b"]) == {
        "b#0": "h-the lazy dog sleeps all day long in the sun"
    }


def test_persists_across_processes(store, tmp_path):
    reopened = EmbeddedBackend(tmp_path)
    assert reopened.count("idx") == 3
    assert reopened.get_meta("idx") == META
    assert set(reopened.get("idx", ["a#0", "zzz"])) == {"a#0"}
    # A write from another connection is seen by the first one's next query.
    reopened.delete("idx", ["c#0"])
    assert [h.passage.passage_id for h in store.bm25("idx", "quick", 10)] == ["a#0"]
    reopened.close()


def test_failed_upsert_changes_nothing(store):
    bad_vectors = np.zeros((1, 3))  # two passages, one vector: fails inside the transaction
    with pytest.raises(ValueError):
        store.upsert("idx", [passage("d#0", "new"), passage("a#0", "overwrite")], bad_vectors)
    assert store.count("idx") == 3
    assert store.get("idx", ["a#0"])["a#0"].text == "the quick brown fox"


def test_missing_index_error_suggests_ingest(tmp_path):
    with pytest.raises(IndexNotFoundError, match="ingest a corpus into it first") as raised:
        EmbeddedBackend(tmp_path).count("nope")
    assert raised.value.index == "nope" and raised.value.settings == ("data_dir",)


def test_meta_refuses_another_model():
    with pytest.raises(IndexMismatchError, match="built with bi-encoder 'test-model'"):
        META.check_model("idx", "other-model", 3)
    with pytest.raises(IndexMismatchError, match="3 dims"):
        META.check_model("idx", "test-model", 768)
