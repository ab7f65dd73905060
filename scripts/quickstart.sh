#!/usr/bin/env bash
# Quickstart on the embedded store: install, ingest the sample corpus, then run a query. Offline,
# the reranker is the one shipped with esrerank (src/esrerank/rerankers/minilm-l6-scifact).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet -e .
export ESRERANK_DATA_DIR="${ESRERANK_DATA_DIR:-$PWD/.esrerank/data}"

esrerank ingest examples/sample/corpus.jsonl --index sample
esrerank query "${1:-Bariatric surgery reduces colorectal cancer.}" --index sample
