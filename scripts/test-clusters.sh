#!/usr/bin/env bash
# The engine tests on three-node clusters: start OpenSearch and Elasticsearch as three nodes each
# (scripts/engines.sh opensearch-cluster elasticsearch-cluster: :9221-9223, :9231-9233), give
# every index the tests make 3 primaries by an index template (esrerank's auto_expand_replicas
# gives it 1 replica), run pytest with the node-loss tests enabled, and stop the clusters.
#
# Without arguments it runs the tests whose answers depend on an index's layout (BM25 statistics
# per shard, kNN candidates per shard, shard copies): ingest and query, attach, filters, eval,
# parity, serve's searches and replays, the official clients, the engines' own hybrid and
# ml-commons pipelines and node loss (and Korean analysis: seconds). Arguments replace that
# selection, e.g. every engine test:
#   scripts/test-clusters.sh tests/integration -k "opensearch or elasticsearch"
# The versions are scripts/engines.sh's (ESRERANK_OS_VERSION, ESRERANK_ES_VERSION); scripts/test.sh
# runs this on 3.x / 9.x. Expects the virtual environment and test extras scripts/test.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
export HF_HUB_OFFLINE=1  # tests never download a model

export ESRERANK_TEST_OPENSEARCH_URL="http://127.0.0.1:${ESRERANK_OS_CLUSTER_PORT:-9221}"
export ESRERANK_TEST_ELASTICSEARCH_URL="http://127.0.0.1:${ESRERANK_ES_CLUSTER_PORT:-9231}"
export ESRERANK_TEST_CLUSTERS=1
TEMPLATE=esrerank-tests-three-primaries
THREE_PRIMARIES='{"index_patterns": ["*"], "priority": 37,
  "template": {"settings": {"number_of_shards": 3}}}'
LAYOUT_TESTS=(test_ingest_and_query test_attach test_filters test_eval test_parity
  test_serve_search test_serve_replay test_serve_clients test_native_hybrid
  test_opensearch_embedding_pipeline test_opensearch_rerank_processor test_korean test_node_loss)

scripts/engines.sh start opensearch-cluster elasticsearch-cluster
trap 'scripts/engines.sh stop opensearch-cluster elasticsearch-cluster' EXIT
for url in "$ESRERANK_TEST_OPENSEARCH_URL" "$ESRERANK_TEST_ELASTICSEARCH_URL"; do
  # The clusters keep their data between runs, and the engines refuse two templates of one
  # pattern and priority: an uncommon priority keeps one made by hand (say, priority 1) from
  # blocking this one, and --fail-with-body prints the engine's reason if anything still does.
  curl -s --fail-with-body -X PUT "$url/_index_template/$TEMPLATE" \
    -H 'Content-Type: application/json' \
    -d "$THREE_PRIMARIES" \
    >/dev/null
done
if (( $# == 0 )); then
  set -- "${LAYOUT_TESTS[@]/#/tests/integration/}"
  set -- "${@/%/.py}" -k "opensearch or elasticsearch"
fi
python -m pytest --durations=25 "$@"
