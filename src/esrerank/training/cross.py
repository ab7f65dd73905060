"""Training a cross-encoder: a reranker from relevance groups, or a similarity scorer from
scored sentence pairs (the sentence-transformers STS recipe).

Losses: ``listwise`` (default for relevance data) is softmax cross-entropy over one positive and
its hard negatives for the same query, so each step learns the ranking the reranker is used
for, whatever the ratio of positives to negatives; ``bce`` scores each pair on its own against a
0/1 label (or a 0..1 similarity for scored pairs, where it is the only choice).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..models.hub import DEFAULT_BI_ENCODER, load_model
from . import loop
from .data import DevQuery, Group, ScoredPair
from .evaluation import correlations, reranked_mrr, retrieval_mrr

LOSSES = ("listwise", "bce")


class _Scorer:
    """A ``CrossEncoder`` being trained: one logit per (first, second) text pair."""

    def __init__(self, base: str, max_length: int) -> None:
        from sentence_transformers import CrossEncoder

        self.model = load_model(
            base,
            "base model",
            lambda location: CrossEncoder(location, num_labels=1, max_length=max_length),
        )
        self.network = self.model.model
        self.max_length = max_length

    def logits(self, firsts: Sequence[str], seconds: Sequence[str]):
        features = self.model.tokenizer(
            list(firsts),
            list(seconds),
            padding=True,
            truncation="longest_first",
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.network.device)
        return self.network(**features).logits.view(-1)

    def predict(self, firsts: Sequence[str], seconds: Sequence[str]) -> np.ndarray:
        """Logits without gradients, in batches of 32."""
        import torch

        self.network.eval()
        with torch.no_grad():
            out = [
                self.logits(firsts[i : i + 32], seconds[i : i + 32]).float().cpu().numpy()
                for i in range(0, len(firsts), 32)
            ]
        self.network.train()
        return np.concatenate(out) if out else np.zeros(0)

    def save(self, output: Path) -> None:
        self.model.save(str(output))


def train_reranker(
    groups: Sequence[Group],
    output: str | Path,
    *,
    dev: Sequence[DevQuery] = (),
    base: str = DEFAULT_BI_ENCODER,
    loss: str = "listwise",
    negatives: int = 7,
    max_length: int = 256,
    settings: loop.Settings = loop.Settings(),
) -> loop.TrainReport:
    """Fine-tune ``base`` into a one-logit reranker; dev MRR@10 picks the checkpoint."""
    if loss not in LOSSES:
        raise ConfigError(f"Unknown loss '{loss}': use one of {', '.join(LOSSES)}.")
    usable = [g for g in groups if g.positives and g.negatives]
    if not usable:
        raise ConfigError(
            "No training query has both a relevant and a non-relevant passage: mine negatives "
            "from an index (queries and qrels with an index) or give negatives in the pairs file."
        )
    output = loop.prepare_output(output)
    scorer = _Scorer(base, max_length)
    if loss == "listwise":
        make_batches, loss_of = _listwise(scorer, usable, negatives, settings.batch_size)
    else:
        make_batches = _labelled_pairs(usable, negatives, settings.batch_size)
        loss_of = _bce(scorer)
    recipe = {"loss": loss, "negatives": negatives, "max_length": max_length}
    evaluate = None
    if dev:
        recipe["dev_queries"] = len(dev)
        recipe["dev_retrieval_mrr@10"] = retrieval_mrr(dev)

        def evaluate() -> dict[str, float]:
            rerank = lambda query, texts: scorer.predict([query] * len(texts), texts)  # noqa: E731
            return {"mrr@10": reranked_mrr(dev, rerank)}

    return loop.run(
        encoder="cross",
        base=base,
        examples=len(usable),
        output=output,
        recipe=recipe,
        parameters=scorer.network.parameters(),
        make_batches=make_batches,
        loss_of=loss_of,
        evaluate=evaluate,
        metric="mrr@10",
        save=lambda: scorer.save(output),
        settings=settings,
    )


def train_similarity(
    pairs: Sequence[ScoredPair],
    output: str | Path,
    *,
    dev: Sequence[ScoredPair] = (),
    base: str = DEFAULT_BI_ENCODER,
    max_length: int = 128,
    settings: loop.Settings = loop.Settings(),
) -> loop.TrainReport:
    """Fine-tune ``base`` to predict a 0..1 similarity with BCE; both orders of every pair are
    trained, so the score is symmetric. Dev Spearman picks the checkpoint."""
    output = loop.prepare_output(output)
    scorer = _Scorer(base, max_length)
    both = [(p.first, p.second, p.score) for p in pairs]
    both += [(p.second, p.first, p.score) for p in pairs]

    def make_batches(rng: random.Random) -> list[list[tuple[str, str, float]]]:
        rng.shuffle(both)
        return _chunks(both, settings.batch_size)

    evaluate = None
    if dev:

        def evaluate() -> dict[str, float]:
            logits = scorer.predict([p.first for p in dev], [p.second for p in dev])
            return correlations(dev, 1 / (1 + np.exp(-logits)))

    return loop.run(
        encoder="cross",
        base=base,
        examples=len(both),
        output=output,
        recipe={"loss": "bce", "max_length": max_length, "both_orders": True},
        parameters=scorer.network.parameters(),
        make_batches=make_batches,
        loss_of=_bce(scorer),
        evaluate=evaluate,
        metric="spearman",
        save=lambda: scorer.save(output),
        settings=settings,
    )


def sample_negatives(group: Group, count: int, rng: random.Random) -> list[str]:
    """``count`` of the group's negatives, drawn at random (with repeats when too few)."""
    pool = list(group.negatives)
    if not count or not pool:
        return []
    if len(pool) >= count:
        return rng.sample(pool, count)
    return pool + rng.choices(pool, k=count - len(pool))


def _listwise(scorer: _Scorer, groups: Sequence[Group], negatives: int, batch_size: int):
    """Batches of ``batch_size`` queries, each a positive then ``negatives`` negatives."""
    import torch

    size = 1 + negatives
    cross_entropy = torch.nn.CrossEntropyLoss()

    def make_batches(rng: random.Random) -> list[list[tuple[str, str, float]]]:
        order = list(groups)
        rng.shuffle(order)
        rows = []
        for group in order:
            texts = [rng.choice(group.positives), *sample_negatives(group, negatives, rng)]
            rows.extend((group.query, text, 0.0) for text in texts)
        return _chunks(rows, batch_size * size)

    def loss_of(batch):
        logits = scorer.logits([r[0] for r in batch], [r[1] for r in batch]).view(-1, size)
        target = torch.zeros(len(logits), dtype=torch.long, device=logits.device)
        return cross_entropy(logits, target)

    return make_batches, loss_of


def _labelled_pairs(groups: Sequence[Group], negatives: int, batch_size: int):
    """Batches of (query, passage, 0/1) pairs: every positive, ``negatives`` negatives each."""

    def make_batches(rng: random.Random) -> list[list[tuple[str, str, float]]]:
        rows = []
        for group in groups:
            rows.extend((group.query, text, 1.0) for text in group.positives)
            for _ in group.positives:
                picked = sample_negatives(group, negatives, rng)
                rows.extend((group.query, text, 0.0) for text in picked)
        rng.shuffle(rows)
        return _chunks(rows, batch_size)

    return make_batches


def _bce(scorer: _Scorer):
    import torch

    bce = torch.nn.BCEWithLogitsLoss()

    def loss_of(batch):
        logits = scorer.logits([r[0] for r in batch], [r[1] for r in batch])
        labels = torch.tensor([r[2] for r in batch], dtype=torch.float32, device=logits.device)
        return bce(logits, labels)

    return loss_of


def _chunks(rows: list, size: int) -> list[list]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]
