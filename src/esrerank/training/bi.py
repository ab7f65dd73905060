"""Training a bi-encoder with in-batch negatives plus mined hard negatives (the multiple
negatives ranking loss): each query must pick its own positive among every passage in the batch.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..models.hub import DEFAULT_BI_ENCODER, load_model
from . import loop
from .cross import sample_negatives
from .data import DevQuery, Group
from .evaluation import reranked_mrr, retrieval_mrr

SCALE = 20.0  # cosine similarities are multiplied by this before the softmax


def train_bi_encoder(
    groups: Sequence[Group],
    output: str | Path,
    *,
    dev: Sequence[DevQuery] = (),
    base: str = DEFAULT_BI_ENCODER,
    negatives: int = 1,
    max_length: int = 256,
    settings: loop.Settings = loop.Settings(),
) -> loop.TrainReport:
    """Fine-tune the sentence-transformers model ``base``; dev MRR@10 picks the checkpoint."""
    import torch
    from sentence_transformers import SentenceTransformer

    usable = [g for g in groups if g.positives and (g.negatives or not negatives)]
    if not usable:
        raise ConfigError(
            "No training query has a relevant passage and a negative: mine negatives from an "
            "index or set `negatives` to 0 for in-batch negatives only.",
            settings=("negatives",),
        )
    output = loop.prepare_output(output)
    model = load_model(base, "base model", SentenceTransformer)
    model.max_seq_length = max_length

    def embed(texts: Sequence[str]):
        features = model.tokenize(list(texts))
        features = {k: v.to(model.device) if hasattr(v, "to") else v for k, v in features.items()}
        vectors = model(features)["sentence_embedding"]
        return torch.nn.functional.normalize(vectors, dim=-1)

    def make_batches(rng: random.Random):
        order = list(usable)
        rng.shuffle(order)
        rows = [
            (g.query, rng.choice(g.positives), sample_negatives(g, negatives, rng)) for g in order
        ]
        return [rows[i : i + settings.batch_size] for i in range(0, len(rows), settings.batch_size)]

    cross_entropy = torch.nn.CrossEntropyLoss()

    def loss_of(batch):
        queries = embed([row[0] for row in batch])
        passages = embed([row[1] for row in batch] + [n for row in batch for n in row[2]])
        scores = SCALE * queries @ passages.T
        target = torch.arange(len(batch), device=scores.device)
        return cross_entropy(scores, target)

    def similarity(query: str, texts: list[str]) -> np.ndarray:
        model.eval()
        with torch.no_grad():
            vectors = model.encode([query, *texts], normalize_embeddings=True, batch_size=32)
        model.train()
        return vectors[1:] @ vectors[0]

    recipe = {"loss": "multiple_negatives_ranking", "negatives": negatives, "scale": SCALE}
    evaluate = None
    if dev:
        recipe["dev_queries"] = len(dev)
        recipe["dev_retrieval_mrr@10"] = retrieval_mrr(dev)

        def evaluate() -> dict[str, float]:
            return {"mrr@10": reranked_mrr(dev, similarity)}

    model.train()
    return loop.run(
        encoder="bi",
        base=base,
        examples=len(usable),
        output=output,
        recipe=recipe,
        parameters=model.parameters(),
        make_batches=make_batches,
        loss_of=loss_of,
        evaluate=evaluate,
        metric="mrr@10",
        save=lambda: model.save(str(output)),
        settings=settings,
    )
