"""A person's judgments as evaluation data: the judged queries of an index with their graded
documents (what ``esrerank eval --judgments`` measures and tunes on), and the same judgments
written to and read from the BEIR layout (``queries.jsonl`` and ``qrels/<split>.tsv``)."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from ..backends.judgments import GRADES, Judgment
from ..corpus import read_qrels, read_queries
from ..errors import InputError
from .data import EvalData


def judged_data(judgments: Iterable[Judgment], index: str) -> EvalData:
    """The queries with at least one document graded above 0, and their grades."""
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for judgment in judgments:
        queries[judgment.query_id] = judgment.query
        qrels[judgment.query_id][judgment.doc_id] = judgment.grade
    judged = sorted(q for q, docs in qrels.items() if max(docs.values()) > 0)
    if not judged:
        raise InputError(
            f"Index '{index}' has no judged query with a relevant document (grade 1 or more): "
            "judge some results in the workbench, or import qrels."
        )
    return EvalData(
        name=index,
        corpus=None,
        queries={q: queries[q] for q in judged},
        qrels={q: qrels[q] for q in judged},
        split="judgments",
    )


def beir_files(judgments: Iterable[Judgment], split: str = "test") -> dict[str, str]:
    """The BEIR layout of ``judgments``: ``queries.jsonl`` and ``qrels/<split>.tsv``, by path."""
    judgments = sorted(judgments, key=lambda j: (j.query_id, j.doc_id))
    queries = {j.query_id: j.query for j in judgments}
    lines = [json.dumps({"_id": q, "text": t}, ensure_ascii=False) for q, t in queries.items()]
    qrels = io.StringIO()
    rows = csv.writer(qrels, delimiter="\t", lineterminator="\n")
    rows.writerow(["query-id", "corpus-id", "score"])
    rows.writerows([j.query_id, j.doc_id, j.grade] for j in judgments)
    return {
        "queries.jsonl": "".join(f"{line}\n" for line in lines),
        f"qrels/{split}.tsv": qrels.getvalue(),
    }


def export_beir(judgments: Iterable[Judgment], folder: Path, split: str = "test") -> list[Path]:
    """Write ``beir_files`` under ``folder``; the paths written."""
    written = []
    for name, text in beir_files(judgments, split).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def import_beir(folder: Path, split: str = "test") -> list[Judgment]:
    """The judgments in ``folder``'s queries and ``qrels/<split>.tsv`` (grades 0 to 3)."""
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        raise InputError(
            f"{qrels_path} not found: import reads the BEIR layout (queries.jsonl, "
            "qrels/SPLIT.tsv). Pick the split with `split`.",
            settings=("split",),
        )
    queries = read_queries(folder / "queries.jsonl")
    found = []
    for qid, docs in sorted(read_qrels(qrels_path).items()):
        if qid not in queries:
            raise InputError(f"{qrels_path}: query '{qid}' is not in {folder / 'queries.jsonl'}.")
        for doc_id, grade in sorted(docs.items()):
            if grade not in GRADES:
                raise InputError(
                    f"{qrels_path}: query '{qid}' grades '{doc_id}' {grade}; judgments are "
                    "graded 0 to 3."
                )
            found.append(Judgment(queries[qid], doc_id, grade))
    return found
