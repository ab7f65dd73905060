"""Training a cross-encoder reranker on (query, passage, label) pairs.

Binary cross-entropy on one logit per pair, AdamW with linear warm-up and decay: the classic
MS MARCO cross-encoder recipe, small enough to run on a laptop CPU.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .backends import Backend
from .errors import ConfigError, InputError
from .models import DEFAULT_BI_ENCODER, load_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pair:
    query: str
    passage: str
    label: float  # 1.0 relevant, 0.0 not


@dataclass(frozen=True)
class TrainReport:
    pairs: int
    steps: int
    seconds: float
    final_loss: float
    output: Path


def read_pairs(path: str | Path) -> list[Pair]:
    """JSONL of ``{"query", "passage", "label"}``; errors name the line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Training file '{path}' not found. Check the path.")
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            pairs.append(Pair(str(obj["query"]), str(obj["passage"]), float(obj["label"])))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"{path}:{number}: expected a JSON object with query, passage and a numeric "
                f"label ({type(exc).__name__}: {exc})."
            ) from exc
    if not pairs:
        raise InputError(f"{path}: no training pairs.")
    return pairs


def mine_pairs(
    backend: Backend,
    index: str,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    negatives: int = 3,
    depth: int = 30,
) -> list[Pair]:
    """Label pairs from judged queries: each judged document's passages as positives, and the
    best BM25 hits from other documents as hard negatives (``negatives`` per query)."""
    unknown = sorted(set(qrels) - set(queries))
    if unknown:
        raise InputError(
            f"qrels name {len(unknown)} queries missing from the queries file, e.g. '{unknown[0]}'."
        )
    pairs: list[Pair] = []
    for query_id, judged in qrels.items():
        relevant = {doc_id for doc_id, grade in judged.items() if grade > 0}
        stored = backend.existing_passages(index, sorted(relevant))
        if relevant and not stored:
            raise InputError(
                f"Query '{query_id}': none of its relevant documents "
                f"({', '.join(sorted(relevant))}) are in index '{index}'. "
                "Ingest the corpus the qrels refer to."
            )
        query = queries[query_id]
        for passage in backend.get(index, sorted(stored)).values():
            pairs.append(Pair(query, passage.content, 1.0))
        hard = [h for h in backend.bm25(index, query, depth) if h.passage.doc_id not in judged]
        pairs.extend(Pair(query, h.passage.content, 0.0) for h in hard[:negatives])
    return pairs


def train_cross_encoder(
    pairs: Sequence[Pair],
    output: str | Path,
    *,
    base: str = DEFAULT_BI_ENCODER,
    epochs: int = 1,
    batch_size: int = 16,
    max_length: int = 256,
    learning_rate: float = 2e-5,
    warmup: float = 0.1,
    seed: int = 13,
    progress: bool = False,
) -> TrainReport:
    """Fine-tune ``base`` (any BERT-like model folder or name) into a one-logit reranker."""
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import get_linear_schedule_with_warmup

    if not pairs:
        raise ConfigError("No training pairs given.")
    output = Path(output)
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"Output folder {output} is not writable: {exc}") from exc
    random.seed(seed)
    torch.manual_seed(seed)
    model = load_model(
        base,
        "base model",
        lambda location: CrossEncoder(location, num_labels=1, max_length=max_length),
    )
    network, tokenizer = model.model, model.tokenizer
    optimizer = torch.optim.AdamW(network.parameters(), lr=learning_rate, weight_decay=0.01)
    steps = epochs * ((len(pairs) + batch_size - 1) // batch_size)
    schedule = get_linear_schedule_with_warmup(optimizer, int(warmup * steps), steps)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    started = time.perf_counter()
    network.train()
    loss_value = float("nan")
    with tqdm(total=steps, desc="train", unit="step", disable=not progress) as bar:
        for _ in range(epochs):
            order = list(pairs)
            random.shuffle(order)
            for begin in range(0, len(order), batch_size):
                batch = order[begin : begin + batch_size]
                features = tokenizer(
                    [p.query for p in batch],
                    [p.passage for p in batch],
                    padding=True,
                    truncation="longest_first",
                    max_length=max_length,
                    return_tensors="pt",
                ).to(network.device)
                logits = network(**features).logits.view(-1)
                labels = torch.tensor([p.label for p in batch], dtype=torch.float32)
                loss = loss_fn(logits, labels.to(logits.device))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                loss_value = float(loss.detach())
                bar.update(1)
                bar.set_postfix(loss=f"{loss_value:.3f}", refresh=False)
    network.eval()
    model.save(str(output))
    return TrainReport(len(pairs), steps, time.perf_counter() - started, loss_value, output)
