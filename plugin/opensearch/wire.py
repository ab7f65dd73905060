"""Let OpenSearch rerank its own hits with esrerank's cross-encoder.

Creates, on an OpenSearch 2.12+ cluster with ml-commons and neural-search:
  1. an ml-commons HTTP connector to esrerank serve's Cohere-shaped ``POST /v1/rerank``;
  2. a remote model on it, deployed;
  3. two search pipelines whose ``rerank`` response processor (``ml_opensearch``) calls it:
     ``esrerank-rerank`` (any query) and ``esrerank-hybrid-rerank`` (a hybrid query fused as in
     hybrid-pipeline.json, then reranked).

    python plugin/opensearch/wire.py --opensearch http://127.0.0.1:9200 \\
        --esrerank http://127.0.0.1:8080 [--esrerank-api-key KEY] [--field text]

Then search with ``?search_pipeline=esrerank-rerank`` and the query text in
``ext.rerank.query_context.query_text`` (see plugin/README.md). A connector to a loopback or
private address needs, in opensearch.yml (read when a model is deployed):
``plugins.ml_commons.connector.private_ip_enabled: true`` and a
``plugins.ml_commons.trusted_connector_endpoints_regex`` that matches esrerank's URL.

The connector's pre- and post-process functions are the painless scripts beside this file, not
ml-commons' built-in Cohere functions: those put the query into the request body as it is
(a query holding ``${parameters.x}`` or looking like JSON breaks the request), where the script
hands esrerank the texts JSON-escaped with every ``$`` escaped too.
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
DEPLOY_TIMEOUT = 60  # seconds


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


def wire(
    client: OpenSearch,
    esrerank_url: str,
    api_key: str | None = None,
    field: str = "text",
    name: str = "esrerank",
) -> str:
    """Create the connector, the deployed model and the pipelines; return the model id."""
    call = client.transport.perform_request
    body = connector_body(esrerank_url, api_key, name)
    connector_id = call("POST", f"{ML}/connectors/_create", body=body)["connector_id"]
    registered = call(
        "POST",
        f"{ML}/models/_register",
        body={"name": name, "function_name": "remote", "connector_id": connector_id},
    )
    model_id = registered["model_id"]
    call("POST", f"{ML}/models/{model_id}/_deploy")
    deadline = time.monotonic() + DEPLOY_TIMEOUT
    while call("GET", f"{ML}/models/{model_id}").get("model_state") != "DEPLOYED":
        if time.monotonic() > deadline:
            raise RuntimeError(f"model {model_id} was not deployed in {DEPLOY_TIMEOUT} s")
        time.sleep(0.5)
    for pipeline, body in pipeline_bodies(model_id, field).items():
        call("PUT", f"/_search/pipeline/{pipeline}", body=body)
    return model_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opensearch", required=True, help="the cluster's URL")
    parser.add_argument("--user", help="the cluster's user (with --password)")
    parser.add_argument("--password")
    parser.add_argument("--ca-certs", help="CA file for an https cluster")
    parser.add_argument(
        "--esrerank", required=True, help="esrerank serve's URL, as the cluster reaches it"
    )
    parser.add_argument("--esrerank-api-key", help="esrerank serve's --server-api-key")
    parser.add_argument("--field", default="text", help="the document field to rerank on")
    parser.add_argument("--name", default="esrerank", help="name of the connector and model")
    args = parser.parse_args()
    auth = (args.user, args.password) if args.user else None
    client = OpenSearch(hosts=[args.opensearch], http_auth=auth, ca_certs=args.ca_certs)
    model_id = wire(client, args.esrerank, args.esrerank_api_key, args.field, args.name)
    json.dump({"model_id": model_id, "pipelines": list(PIPELINES)}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
