#!/usr/bin/env bash
# The whole test suite: install esrerank with its test extras, then
#   1. start OpenSearch 2.x and Elasticsearch 8.x (the defaults of scripts/engines.sh, fetched from
#      Maven Central on first use) and OpenSearch with its security plugin (TLS, logins), and run
#      every test;
#   2. start OpenSearch 3.x and Elasticsearch 9.x and run the engine tests again on them, but for
#      the crash tests and serve's fuzzing (killed and restarted ingests test esrerank's own
#      recovery, and the fuzzed requests its own parsing, which do not change with the engine's
#      version; they run on every backend in step 1)
#      (skip with ESRERANK_TEST_NEXT_MAJORS=0).
# Extra arguments go to the first pytest run, e.g. scripts/test.sh -k parity
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh

python -m pip install --quiet --disable-pip-version-check -e ".[test]"
# the official JavaScript clients, to test serve with them as they are (npm's cache keeps them)
npm ci --prefix tests/integration/js --no-audit --no-fund --silent
export HF_HUB_OFFLINE=1  # tests never download a model

scripts/engines.sh start opensearch elasticsearch secured
trap 'scripts/engines.sh stop opensearch elasticsearch secured' EXIT
python -m pytest --durations=25 "$@"
scripts/engines.sh stop opensearch elasticsearch secured

if [ "${ESRERANK_TEST_NEXT_MAJORS:-1}" != 0 ]; then
  export ESRERANK_OS_VERSION=3.6.0 ESRERANK_ES_VERSION=9.3.2
  export ESRERANK_OS_PORT=9211 ESRERANK_ES_PORT=9212
  export ESRERANK_ENGINES_DIR="${ESRERANK_ENGINES_DIR:-$HOME/.cache/esrerank/engines}-next"
  export ESRERANK_TEST_OPENSEARCH_URL=http://127.0.0.1:9211
  export ESRERANK_TEST_ELASTICSEARCH_URL=http://127.0.0.1:9212
  scripts/engines.sh start
  python -m pytest tests/integration -k "opensearch or elasticsearch" --durations=25 \
    --ignore tests/integration/test_crash.py --ignore tests/integration/test_serve_fuzz.py
fi
