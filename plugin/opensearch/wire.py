"""Let OpenSearch rerank its own hits, and embed the documents written to it, with esrerank's
models.

``rerank`` creates, on an OpenSearch 2.12+ cluster with ml-commons and neural-search:
  1. an ml-commons HTTP connector to esrerank serve's Cohere-shaped ``POST /v1/rerank``;
  2. a remote model on it, deployed;
  3. two search pipelines whose ``rerank`` response processor (``ml_opensearch``) calls it:
     ``esrerank-rerank`` (any query) and ``esrerank-hybrid-rerank`` (a hybrid query fused as in
     hybrid-pipeline.json, then reranked).

    python plugin/opensearch/wire.py rerank --opensearch http://127.0.0.1:9200 \\
        --esrerank http://127.0.0.1:8080 [--esrerank-api-key KEY] [--field text]

Then search with ``?search_pipeline=esrerank-rerank`` and the query text in
``ext.rerank.query_context.query_text`` (see plugin/README.md).

``embed`` creates two connectors to serve's TEI-shaped ``POST /embed`` (``prompt_name``
``passage`` and ``query``: the bi-encoder's two sides), their deployed remote models, and an
ingest pipeline whose ``text_embedding`` processor writes each document's passage vector; the
pipeline becomes the index's ``default_pipeline``, so the application's writes get vectors with
no change (the alternative to ``esrerank attach --follow``). A ``neural`` query with the query
model searches the same vectors:

    python plugin/opensearch/wire.py embed --opensearch http://127.0.0.1:9200 \\
        --esrerank http://127.0.0.1:8080 --index products [--text-field text] \\
        [--vector-field esrerank_vector]

A connector to a loopback or private address needs, in opensearch.yml (read when a model is
deployed): ``plugins.ml_commons.connector.private_ip_enabled: true`` and a
``plugins.ml_commons.trusted_connector_endpoints_regex`` that matches esrerank's URL.

The rerank connector's pre- and post-process functions are the painless scripts beside this
file, not ml-commons' built-in Cohere functions: those put the query into the request body as it
is (a query holding ``${parameters.x}`` or looking like JSON breaks the request), where the script
hands esrerank the texts JSON-escaped with every ``$`` escaped too. The embedding connectors use
ml-commons' default embedding functions, which write the texts as a JSON list.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from opensearchpy import OpenSearch

HERE = Path(__file__).parent
ML = "/_plugins/_ml"
PIPELINES = ("esrerank-rerank", "esrerank-hybrid-rerank")
DEPLOY_TIMEOUT = 180  # seconds: a busy cluster of several nodes deploys to each
# A node can fail its part of a deploy for a while (one that just rejoined: "Fetching master key
# timed out" while ml-commons' config index recovers); deploying again completes it there.
DEPLOY_AGAIN = {"PARTIALLY_DEPLOYED", "DEPLOY_FAILED"}
DEPLOY_RETRY_SECONDS = 3


def connector_body(esrerank_url: str, api_key: str | None, name: str) -> dict:
    """The ml-commons connector to ``esrerank_url``/v1/rerank."""
    return {
        "name": name,
        "description": "esrerank serve: the cross-encoder behind a Cohere-shaped /v1/rerank",
        "version": "1",
        "protocol": "http",
        "parameters": {"esrerank_url": esrerank_url.rstrip("/")},
        # ml-commons wants a credential; esrerank ignores the header when it has no API key
        "credential": {"api_key": api_key or "none"},
        "actions": [
            {
                "action_type": "predict",
                "method": "POST",
                "url": "${parameters.esrerank_url}/v1/rerank",
                "headers": {
                    "content-type": "application/json",
                    "Authorization": "Bearer ${credential.api_key}",
                },
                "request_body": "${parameters.payload}",
                "pre_process_function": (HERE / "pre_process.painless").read_text(),
                "post_process_function": (HERE / "post_process.painless").read_text(),
            }
        ],
    }


def pipeline_bodies(model_id: str, field: str) -> dict[str, dict]:
    rerank = {
        "rerank": {
            "ml_opensearch": {"model_id": model_id},
            "context": {"document_fields": [field]},
        }
    }
    # the hybrid scores fused as esrerank fuses them (the pipeline beside this file)
    fusion = json.loads((HERE / "hybrid-pipeline.json").read_text())["phase_results_processors"]
    return {
        PIPELINES[0]: {
            "description": "rerank the hits with esrerank's cross-encoder",
            "response_processors": [rerank],
        },
        PIPELINES[1]: {
            "description": "hybrid scores normalized, then reranked by esrerank",
            "phase_results_processors": fusion,
            "response_processors": [rerank],
        },
    }


def embedding_connector_body(
    esrerank_url: str, api_key: str | None, name: str, prompt_name: str
) -> dict:
    """The ml-commons connector to ``esrerank_url``/embed (TEI's shape), embedding as
    ``prompt_name`` (``passage``: as ingest embeds documents; ``query``: as searches are)."""
    return {
        "name": f"{name}-{prompt_name}",
        "description": f"esrerank serve: the bi-encoder's {prompt_name} side behind TEI's /embed",
        "version": "1",
        "protocol": "http",
        "parameters": {"esrerank_url": esrerank_url.rstrip("/"), "prompt_name": prompt_name},
        "credential": {"api_key": api_key or "none"},
        "actions": [
            {
                "action_type": "predict",
                "method": "POST",
                "url": "${parameters.esrerank_url}/embed",
                "headers": {
                    "content-type": "application/json",
                    "Authorization": "Bearer ${credential.api_key}",
                },
                # ml-commons' own functions: the texts as a JSON list in, TEI's list of
                # vectors out (nothing of the text is pasted into the body unescaped)
                "request_body": (
                    '{"inputs": ${parameters.input}, "prompt_name": "${parameters.prompt_name}"}'
                ),
                "pre_process_function": "connector.pre_process.default.embedding",
                "post_process_function": "connector.post_process.default.embedding",
            }
        ],
    }


def ingest_pipeline_body(model_id: str, text_field: str, vector_field: str) -> dict:
    """Documents written through it get ``vector_field``: the passage embedding of
    ``text_field`` (a document without it is written as it is)."""
    return {
        "description": "esrerank's passage embedding of each document, as it is written",
        "processors": [
            {"text_embedding": {"model_id": model_id, "field_map": {text_field: vector_field}}}
        ],
    }


def deployed_model(client: OpenSearch, connector: dict, name: str) -> str:
    """A remote model on a new connector, deployed: its id."""
    call = client.transport.perform_request
    connector_id = call("POST", f"{ML}/connectors/_create", body=connector)["connector_id"]
    registered = call(
        "POST",
        f"{ML}/models/_register",
        body={"name": name, "function_name": "remote", "connector_id": connector_id},
    )
    model_id = registered["model_id"]
    call("POST", f"{ML}/models/{model_id}/_deploy")
    deadline = time.monotonic() + DEPLOY_TIMEOUT
    while (state := call("GET", f"{ML}/models/{model_id}").get("model_state")) != "DEPLOYED":
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"model {model_id} was not deployed in {DEPLOY_TIMEOUT} s (state {state}): "
                "see GET /_plugins/_ml/tasks and the nodes' logs"
            )
        if state in DEPLOY_AGAIN:
            time.sleep(DEPLOY_RETRY_SECONDS)
            call("POST", f"{ML}/models/{model_id}/_deploy")
        else:
            time.sleep(0.5)
    return model_id


def wire(
    client: OpenSearch,
    esrerank_url: str,
    api_key: str | None = None,
    field: str = "text",
    name: str = "esrerank",
) -> str:
    """Create the rerank connector, the deployed model and the pipelines; return the model id."""
    model_id = deployed_model(client, connector_body(esrerank_url, api_key, name), name)
    for pipeline, body in pipeline_bodies(model_id, field).items():
        client.transport.perform_request("PUT", f"/_search/pipeline/{pipeline}", body=body)
    return model_id


def wire_embedding(
    client: OpenSearch,
    esrerank_url: str,
    index: str,
    text_field: str,
    vector_field: str,
    api_key: str | None = None,
    name: str = "esrerank-embed",
) -> dict[str, str]:
    """Create the passage and query embedding models and the ingest pipeline, and make the
    pipeline ``index``'s default: return the two model ids and the pipeline's name."""
    models = {
        f"{side}_model_id": deployed_model(
            client,
            embedding_connector_body(esrerank_url, api_key, name, side),
            f"{name}-{side}",
        )
        for side in ("passage", "query")
    }
    pipeline = f"{name}-{index}"
    body = ingest_pipeline_body(models["passage_model_id"], text_field, vector_field)
    call = client.transport.perform_request
    call("PUT", f"/_ingest/pipeline/{pipeline}", body=body)
    call("PUT", f"/{index}/_settings", body={"index": {"default_pipeline": pipeline}})
    return {**models, "pipeline": pipeline}


def main() -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--opensearch", required=True, help="the cluster's URL")
    common.add_argument("--user", help="the cluster's user (with --password)")
    common.add_argument("--password")
    common.add_argument("--ca-certs", help="CA file for an https cluster")
    common.add_argument(
        "--esrerank", required=True, help="esrerank serve's URL, as the cluster reaches it"
    )
    common.add_argument("--esrerank-api-key", help="esrerank serve's --server-api-key")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rerank = commands.add_parser("rerank", parents=[common], help="the rerank pipelines")
    rerank.add_argument("--field", default="text", help="the document field to rerank on")
    rerank.add_argument("--name", default="esrerank", help="name of the connector and model")
    embed = commands.add_parser("embed", parents=[common], help="the embedding ingest pipeline")
    embed.add_argument("--index", required=True, help="the index whose writes get vectors")
    embed.add_argument("--text-field", default="text", help="the documents' text field")
    embed.add_argument(
        "--vector-field", default="esrerank_vector", help="the knn_vector field written"
    )
    embed.add_argument("--name", default="esrerank-embed", help="name of the models")
    args = parser.parse_args()
    auth = (args.user, args.password) if args.user else None
    client = OpenSearch(hosts=[args.opensearch], http_auth=auth, ca_certs=args.ca_certs)
    if args.command == "rerank":
        model_id = wire(client, args.esrerank, args.esrerank_api_key, args.field, args.name)
        answer: dict = {"model_id": model_id, "pipelines": list(PIPELINES)}
    else:
        answer = wire_embedding(
            client,
            args.esrerank,
            args.index,
            args.text_field,
            args.vector_field,
            args.esrerank_api_key,
            args.name,
        )
    json.dump(answer, sys.stdout)
    print()


if __name__ == "__main__":
    main()
