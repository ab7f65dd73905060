"""A person's judgments as evaluation data: the judged queries of an index with their graded
documents (what ``esrerank eval --judgments`` measures and tunes on), and the same judgments
written to and read from the BEIR layout (``queries.jsonl`` and ``qrels/<split>.tsv``)."""

from __future__ import annotations

import csv
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


def export_beir(judgments: Iterable[Judgment], folder: Path, split: str = "test") -> list[Path]:
    """Write ``folder/queries.jsonl`` and ``folder/qrels/<split>.tsv``; the paths written."""
    judgments = sorted(judgments, key=lambda j: (j.query_id, j.doc_id))
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    queries = {j.query_id: j.query for j in judgments}
    written = [folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"]
    with written[0].open("w", encoding="utf-8") as out:
        for qid, text in queries.items():
            out.write(json.dumps({"_id": qid, "text": text}, ensure_ascii=False) + "\n")
    with written[1].open("w", encoding="utf-8", newline="") as out:
        rows = csv.writer(out, delimiter="\t", lineterminator="\n")
        rows.writerow(["query-id", "corpus-id", "score"])
        rows.writerows([j.query_id, j.doc_id, j.grade] for j in judgments)
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
