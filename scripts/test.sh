#!/usr/bin/env bash
# The whole test suite: install esrerank with its test extras, start OpenSearch and Elasticsearch
# (fetched from Maven Central on first use), run pytest, stop the engines.
# Extra arguments go to pytest, e.g. scripts/test.sh -k parity
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
export HF_HUB_OFFLINE=1  # tests never download a model

scripts/engines.sh start
trap 'scripts/engines.sh stop' EXIT
python3 -m pytest "$@"
