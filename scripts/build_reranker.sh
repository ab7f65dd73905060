#!/usr/bin/env bash
# Rebuild the reranker shipped in src/esrerank/models/rerankers/minilm-l6-scifact from public data:
# SciFact's train split only (the test split is what benchmarks/results reports). Ingests the
# SciFact corpus into the embedded store, trains with `esrerank train`, and stores the weights
# as fp16 (45 MB) with a config that loads them as float32.
#   scripts/build_reranker.sh [SCIFACT_DIR]      # default ../shared/data/scifact
set -euo pipefail
cd "$(dirname "$0")/.."
scifact="${1:-../shared/data/scifact}"
work="${ESRERANK_BUILD_DIR:-.esrerank/build}"
target=src/esrerank/models/rerankers/minilm-l6-scifact
export HF_HUB_OFFLINE=1 ESRERANK_DATA_DIR="$work/data"

esrerank ingest "$scifact/corpus.jsonl" --index scifact
esrerank train --encoder cross --beir "$scifact" --split train --index scifact \
  --mine bm25,dense --depth 30 --negatives 7 --loss listwise \
  --epochs 1 --batch-size 8 --learning-rate 1e-4 --max-length 192 --eval-steps 30 \
  --output "$work/reranker"
python3 - "$work/reranker" "$target" <<'PY'
"""Copy a trained cross-encoder with fp16 weights that load as float32."""
import json
import shutil
import sys
from pathlib import Path

from sentence_transformers import CrossEncoder

CARD = """# minilm-l6-scifact reranker

The cross-encoder esrerank uses when the hub default (cross-encoder/ms-marco-MiniLM-L6-v2) cannot
be loaded. Fine-tuned from all-MiniLM-L6-v2 by scripts/build_reranker.sh on the train split of
BEIR SciFact only (Wadden et al. 2020); training.json records the recipe and dev figures. Weights
are stored as fp16 and load as float32. Because it is trained on SciFact, its use follows
SciFact's license, CC BY-NC 2.0. Its measured effect is in benchmarks/results/eval/scifact-embedded.md.
"""

source, target = Path(sys.argv[1]), Path(sys.argv[2])
model = CrossEncoder(str(source))
model.model.half()
shutil.rmtree(target, ignore_errors=True)
model.save(str(target))
config = json.loads((target / "config.json").read_text())
config["dtype"] = "float32"
(target / "config.json").write_text(json.dumps(config, indent=2) + "\n")
record = json.loads((source / "training.json").read_text())
record["output"] = str(target)
(target / "training.json").write_text(json.dumps(record, indent=2) + "\n")
(target / "README.md").write_text(CARD)
print(f"saved {target}")
PY
