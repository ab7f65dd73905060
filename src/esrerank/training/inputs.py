"""Where training data comes from: a BEIR folder or queries + qrels (mined from an index), a
JSONL file of pairs or triples, or a CSV of scored pairs; each with a dev split, given or held
out."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from ..backends import Backend
from ..corpus import read_qrels, read_queries
from ..errors import InputError
from ..models.bi_encoder import BiEncoder
from .data import (
    Candidate,
    DevQuery,
    Group,
    ScoredPair,
    read_relevance_file,
    read_scored_pairs,
    split_off,
)
from .mining import mine


def beir_files(folder: str | Path, split: str = "train") -> tuple[Path, Path, Path, Path | None]:
    """corpus.jsonl, queries.jsonl, qrels/<split>.tsv and qrels/dev.tsv (when present)."""
    folder = Path(folder)
    corpus, queries, qrels = folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels"
    for path in (corpus, queries):
        if not path.is_file():
            raise InputError(f"'{folder}' is not a BEIR folder: {path.name} is missing.")
    train = qrels / f"{split}.tsv"
    if not train.is_file():
        found = ", ".join(sorted(p.name for p in qrels.glob("*.tsv"))) or "none"
        raise InputError(
            f"'{folder}' has no {split} split (qrels/{split}.tsv; found: {found}). Training "
            "needs judged training queries; never train on the split you report as test."
        )
    dev = qrels / "dev.tsv"
    return corpus, queries, train, dev if dev.is_file() and split != "dev" else None


def from_qrels(
    backend: Backend,
    index: str,
    queries_file: str | Path,
    qrels_file: str | Path,
    *,
    dev_qrels_file: str | Path | None,
    dev_fraction: float,
    seed: int,
    encoder: BiEncoder | None,
    sources: Sequence[str],
    depth: int,
    progress: bool,
) -> tuple[list[Group], list[DevQuery]]:
    """Groups for the training queries and ranked candidates for the dev queries."""
    queries, qrels = read_queries(queries_file), read_qrels(qrels_file)
    if dev_qrels_file is not None:
        dev_qrels = read_qrels(dev_qrels_file)
    elif dev_fraction > 0:
        kept, held = split_off(sorted(qrels), dev_fraction, seed)
        dev_qrels = {q: qrels[q] for q in held}
        qrels = {q: qrels[q] for q in kept}
    else:
        dev_qrels = {}
    options = {"encoder": encoder, "sources": sources, "depth": depth, "progress": progress}
    groups, _ = mine(backend, index, queries, qrels, **options)
    dev = mine(backend, index, queries, dev_qrels, **options)[1] if dev_qrels else []
    return groups, dev


def from_relevance_file(
    path: str | Path, *, dev_file: str | Path | None, dev_fraction: float, seed: int
) -> tuple[list[Group], list[DevQuery]]:
    """Groups from a pairs/triples JSONL; dev queries rank their own passages."""
    groups = read_relevance_file(path)
    if dev_file is not None:
        held = read_relevance_file(dev_file)
    elif dev_fraction > 0:
        groups, held = split_off(groups, dev_fraction, seed)
    else:
        held = []
    return groups, [_dev_query(group) for group in held]


def from_scored_pairs(
    path: str | Path,
    *,
    dev_file: str | Path | None,
    dev_fraction: float,
    seed: int,
    scale: float,
) -> tuple[list[ScoredPair], list[ScoredPair]]:
    """Scored pairs for training and for dev (the given file, or a held-out share)."""
    pairs = read_scored_pairs(path, scale)
    if dev_file is not None:
        return pairs, read_scored_pairs(dev_file, scale)
    if dev_fraction > 0:
        return split_off(pairs, dev_fraction, seed)
    return pairs, []


def _dev_query(group: Group) -> DevQuery:
    """The group's passages in an order that does not depend on their labels."""
    labelled = [Candidate(t, True) for t in group.positives]
    labelled += [Candidate(t, False) for t in group.negatives]
    labelled.sort(key=lambda c: hashlib.sha1(c.text.encode()).hexdigest())
    return DevQuery(group.query, tuple(labelled))
