#!/usr/bin/env bash
# Quickstart on the embedded store: install, ingest the sample corpus, build a small reranker
# from the offline MiniLM weights (once, under a minute on two cores), then run a query.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet -e .
export ESRERANK_DATA_DIR="${ESRERANK_DATA_DIR:-$PWD/.esrerank/data}"
export HF_HUB_OFFLINE=1
reranker=.esrerank/models/sample-reranker
sample=examples/sample

esrerank ingest "$sample/corpus.jsonl" --index sample
if [ ! -f "$reranker/config.json" ]; then
  # No pretrained cross-encoder can be downloaded here: train one on the sample's training
  # queries, with BM25 hard negatives mined from the index just built.
  esrerank train --encoder cross --index sample --queries "$sample/train-queries.jsonl" \
    --qrels "$sample/train-queries.qrels.tsv" --negatives 1 --max-length 128 \
    --learning-rate 1e-4 --output "$reranker"
fi
esrerank query "${1:-Bariatric surgery reduces colorectal cancer.}" --index sample --reranker "$reranker"
