"""Evaluation data: a corpus, queries and a split's qrels, found in a folder.

Two layouts are read: BEIR (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``) and the
Korean MRC competition's (``wiki.json`` keyed by document id beside the same queries and qrels).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from pathlib import Path

from ..corpus import read_qrels, read_queries
from ..errors import InputError
from ..training.data import split_off

CORPUS_NAMES = ("corpus.jsonl", "wiki.json", "corpus.json")


@dataclass(frozen=True)
class EvalData:
    """Judged queries of one split, and the corpus they are judged against."""

    name: str
    corpus: Path | None  # None: judgments given an existing index, which has no corpus file
    queries: dict[str, str]  # query id -> text, judged queries only
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: relevance}
    split: str

    def subset(self, query_ids: list[str], split: str) -> EvalData:
        """The same data restricted to ``query_ids``."""
        return replace(
            self,
            queries={q: self.queries[q] for q in query_ids},
            qrels={q: self.qrels[q] for q in query_ids},
            split=split,
        )

    def sample(self, count: int, seed: int) -> EvalData:
        """A seeded random sample of ``count`` queries."""
        ids = sorted(self.queries)
        random.Random(seed).shuffle(ids)
        return self.subset(sorted(ids[:count]), f"{self.split} (random {count} of {len(ids)})")

    def held_out(self, fraction: float, seed: int) -> tuple[EvalData, EvalData]:
        """A seeded split into (tuning part, remaining test part), both non-empty."""
        if len(self.queries) < 2:
            raise InputError(
                f"{self.name}: {len(self.queries)} judged query; need 2 to hold some out."
            )
        rest, held = split_off(sorted(self.queries), fraction, seed)
        return (
            self.subset(sorted(held), f"{self.split} ({fraction:.0%} held out for tuning)"),
            self.subset(sorted(rest), f"{self.split} (the other {1 - fraction:.0%})"),
        )


def load_eval_data(folder: str | Path, split: str, corpus: str | Path | None = None) -> EvalData:
    """Read ``folder``'s queries and ``qrels/<split>.tsv``; the corpus file is found by name
    (``corpus.jsonl``, ``wiki.json``) unless given."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"Evaluation folder '{folder}' not found. Check the path.")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        found = sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))
        raise InputError(
            f"{qrels_path} not found; splits in {folder}: {', '.join(found) or 'none'}. "
            "Pick one with `split`.",
            settings=("split",),
        )
    corpus_path = Path(corpus) if corpus else _find_corpus(folder)
    queries = read_queries(folder / "queries.jsonl")
    qrels = {q: docs for q, docs in read_qrels(qrels_path).items() if max(docs.values()) > 0}
    missing = sorted(set(qrels) - set(queries))
    if missing:
        raise InputError(
            f"{qrels_path}: {len(missing)} query id(s) not in {folder / 'queries.jsonl'}, "
            f"e.g. '{missing[0]}'. Use the queries file that goes with these qrels."
        )
    return EvalData(
        name=folder.resolve().name,
        corpus=corpus_path,
        queries={q: queries[q] for q in sorted(qrels)},
        qrels=qrels,
        split=split,
    )


def index_name_for(data: EvalData) -> str:
    """A valid index name from the data set's folder name."""
    name = re.sub(r"[^a-z0-9_.-]+", "-", data.name.lower()).strip("-_.")
    return name or "eval"


def _find_corpus(folder: Path) -> Path:
    for name in CORPUS_NAMES:
        if (folder / name).is_file():
            return folder / name
    raise InputError(
        f"No corpus in {folder}: expected one of {', '.join(CORPUS_NAMES)}. Name it with `corpus`.",
        settings=("corpus",),
    )
