"""OpenSearch reranks its own hits with esrerank's cross-encoder: plugin/opensearch/wire.py
makes an ml-commons connector to a real ``esrerank serve`` (with an API key), a deployed remote
model and the two search pipelines; neural-search's ``rerank`` processor then orders a plain
query's hits, alone and after the hybrid query's normalization, exactly as esrerank's own
reranker orders the same hits, and a query text full of quotes, backslashes and ``${...}``
reaches esrerank intact. Runs on the OpenSearch of scripts/engines.sh (ml-commons installed)."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest
from opensearchpy import OpenSearch

from esrerank import Searcher
from esrerank.serve.app import Limits, build_app
from tests.wire import load_wire

from .conftest import require_backend
from .test_serve import Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEY = "rerank-test-key"
DOCUMENTS = 30
SIZE = DOCUMENTS  # every matching document, so the pipeline reranks the plain query's hits
ODD_QUERY = 'cancer "cells" \\ back\\\\slash ${parameters.top_n} {"a": [1]} $x'


def ml_cluster() -> OpenSearch:
    """A client of the test OpenSearch, which must have ml-commons."""
    client = OpenSearch(hosts=[require_backend("opensearch")], timeout=60)
    plugins = client.cat.plugins(format="json")
    if "opensearch-ml" not in {p["component"] for p in plugins}:
        pytest.fail("ml-commons is not installed: restart with scripts/engines.sh start opensearch")
    return client


def remove_models(client: OpenSearch, *model_ids: str) -> None:
    """Undeploy and delete remote models, then their connectors. Every model goes first:
    ml-commons refuses a connector's delete while a model's ``connector_id`` merely shares
    words with it (it matches the ids as text), as two of one cluster's ids do."""
    call, ml = client.transport.perform_request, "/_plugins/_ml"
    connectors = [call("GET", f"{ml}/models/{m}")["connector_id"] for m in model_ids]
    for model_id in model_ids:
        call("POST", f"{ml}/models/{model_id}/_undeploy")
        call("DELETE", f"{ml}/models/{model_id}")
    for connector_id in connectors:
        call("DELETE", f"{ml}/connectors/{connector_id}")


@pytest.fixture(scope="module")
def wired(tmp_path_factory, sample_dir, bi_encoder, tiny_reranker):
    """A plain application index of 30 sample abstracts, esrerank serve with an API key, and
    the connector, model and pipelines made by wire.py."""
    client = ml_cluster()
    index = f"app-{uuid.uuid4().hex[:8]}"
    client.indices.create(
        index=index,
        body={"mappings": {"properties": {"title": {"type": "text"}, "text": {"type": "text"}}}},
    )
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()[:DOCUMENTS]
    for line in lines:
        document = json.loads(line)
        client.index(
            index=index, id=document["_id"], body={k: document[k] for k in ("title", "text")}
        )
    client.indices.refresh(index=index)
    folder = tmp_path_factory.mktemp("wired")
    searcher = Searcher(
        None, "unused", data_dir=folder, bi_encoder=bi_encoder, reranker=tiny_reranker
    )
    searcher.warm_up()  # as esrerank serve does before it listens
    server = Server(build_app(searcher, KEY, Limits()))
    wire = load_wire()
    model_id = wire.wire(client, server.url, KEY, field="text", name=f"esrerank-{index}")
    model = searcher.models.reranker(searcher.pipeline.reranker_choice)
    yield client, index, model, wire
    server.stop()
    for pipeline in wire.PIPELINES:
        client.transport.perform_request("DELETE", f"/_search/pipeline/{pipeline}")
    remove_models(client, model_id)
    client.indices.delete(index=index)
    searcher.close()


def assert_reranked_as_esrerank(answer, plain, model, query):
    """The pipeline's hits are the plain query's hits, in esrerank's order, with its scores."""
    texts = {hit["_id"]: hit["_source"]["text"] for hit in plain["hits"]["hits"]}
    assert len(texts) >= 5
    scores = model.score(query, list(texts.values())).scores
    expected = sorted(zip(texts, scores, strict=True), key=lambda pair: -pair[1])
    hits = answer["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == [doc_id for doc_id, _ in expected]
    np.testing.assert_allclose([hit["_score"] for hit in hits], [s for _, s in expected], rtol=1e-5)


def through_pipeline(client, index, pipeline, query, context):
    """``query``'s hits (all of them: SIZE covers the index) reranked by ``pipeline``, the text
    to rerank against given by ``context``."""
    return client.search(
        index=index,
        params={"search_pipeline": pipeline},
        body={"query": query, "size": SIZE, "ext": {"rerank": {"query_context": context}}},
    )


def test_the_rerank_processor_orders_hits_as_esrerank_does(wired):
    client, index, model, wire = wired
    query = "cancer cells in the immune system"
    match = {"match": {"text": query}}
    plain = client.search(index=index, body={"query": match, "size": SIZE})
    answer = through_pipeline(client, index, wire.PIPELINES[0], match, {"query_text": query})
    assert_reranked_as_esrerank(answer, plain, model, query)

    by_path = through_pipeline(
        client,
        index,
        wire.PIPELINES[0],
        {"match": {"text": {"query": query}}},
        {"query_text_path": "query.match.text.query"},
    )
    assert_reranked_as_esrerank(by_path, plain, model, query)


def test_after_the_hybrid_normalization(wired):
    client, index, model, wire = wired
    query = "protein folding"
    legs = [{"match": {"text": "protein"}}, {"match": {"title": "folding structure"}}]
    plain = client.search(index=index, body={"query": {"bool": {"should": legs}}, "size": SIZE})
    hybrid = {"hybrid": {"queries": legs}}
    answer = through_pipeline(client, index, wire.PIPELINES[1], hybrid, {"query_text": query})
    assert_reranked_as_esrerank(answer, plain, model, query)


def test_quotes_backslashes_and_placeholders_reach_esrerank_intact(wired):
    client, index, model, wire = wired
    match = {"match": {"text": "cancer cells"}}
    plain = client.search(index=index, body={"query": match, "size": SIZE})
    answer = through_pipeline(client, index, wire.PIPELINES[0], match, {"query_text": ODD_QUERY})
    # scored as this exact text: any change to it would change the scores
    assert_reranked_as_esrerank(answer, plain, model, ODD_QUERY)
    assert model.score(ODD_QUERY, ["x"]).scores[0] != model.score("cancer cells", ["x"]).scores[0]
