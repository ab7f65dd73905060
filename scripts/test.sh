#!/usr/bin/env bash
# The whole test suite: install esrerank with its test extras, then
#   1. start OpenSearch 2.x and Elasticsearch 8.x (the defaults of scripts/engines.sh, fetched from
#      Maven Central on first use) and OpenSearch with its security plugin (TLS, logins), and run
#      every test;
#   2. start OpenSearch 3.x and Elasticsearch 9.x as three-node clusters, every index of 3 primaries
#      and 1 replica, and run the tests whose answers depend on an index's layout there, the
#      node-loss tests included (scripts/test-clusters.sh; skip with ESRERANK_TEST_NEXT_MAJORS=0).
#      The other engine tests on 3.x / 9.x, and every engine test on 2.x / 8.x clusters, are run
#      by hand with the same script (docs/testing.md).
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
  ESRERANK_OS_VERSION=3.6.0 ESRERANK_ES_VERSION=9.3.2 \
    ESRERANK_ENGINES_DIR="${ESRERANK_ENGINES_DIR:-$HOME/.cache/esrerank/engines}-next" \
    scripts/test-clusters.sh
fi
