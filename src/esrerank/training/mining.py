"""Turning judged queries into training groups: positives from the judged documents, hard
negatives from what the index retrieves for the query (BM25, dense, or both fused)."""

from __future__ import annotations

from collections.abc import Sequence

from tqdm.auto import tqdm

from ..backends import Backend
from ..errors import InputError
from ..fusion import FusionSpec, fuse_hits
from ..models.bi_encoder import BiEncoder
from ..types import BM25, DENSE, LEGS, Passage
from .data import Candidate, DevQuery, Group

SOURCES = LEGS


def mine(
    backend: Backend,
    index: str,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    *,
    encoder: BiEncoder | None = None,
    sources: Sequence[str] = SOURCES,
    depth: int = 30,
    progress: bool = False,
) -> tuple[list[Group], list[DevQuery]]:
    """One group and one ranked candidate list per judged query.

    Candidates are the top ``depth`` of each source, fused (min-max, 1:1) into the order the
    reranker sees at query time. A group's positive for each relevant document is that
    document's best-ranked passage (its first passage when none was retrieved); its negatives
    are the candidates from documents the qrels do not name, best first.
    """
    _check_ids(backend, index, queries, qrels)
    if DENSE in sources:
        backend.get_meta(index).check_model(index, encoder.name, encoder.dimension)
    groups: list[Group] = []
    ranked: list[DevQuery] = []
    ids = [q for q in qrels if any(grade > 0 for grade in qrels[q].values())]
    if not ids:
        raise InputError("The qrels judge no document relevant (score > 0): nothing to learn.")
    vectors = encoder.encode_queries([queries[q] for q in ids]) if DENSE in sources else None
    for position, query_id in enumerate(tqdm(ids, desc="mine", unit="query", disable=not progress)):
        query, judged = queries[query_id], qrels[query_id]
        relevant = {doc for doc, grade in judged.items() if grade > 0}
        legs = {}
        if BM25 in sources:
            legs[BM25] = backend.bm25(index, query, depth)
        if vectors is not None:
            legs[DENSE] = backend.dense(index, vectors[position], depth)
        passages = {h.passage.passage_id: h.passage for hits in legs.values() for h in hits}
        order = fuse_hits(legs, FusionSpec()).order
        retrieved = [passages[pid] for pid in order]
        positives = _positives(backend, index, relevant, retrieved)
        negatives = tuple(p.content for p in retrieved if p.doc_id not in judged)
        groups.append(Group(query, positives, negatives))
        ranked.append(
            DevQuery(query, tuple(Candidate(p.content, p.doc_id in relevant) for p in retrieved))
        )
    return groups, ranked


def _positives(
    backend: Backend, index: str, relevant: set[str], retrieved: list[Passage]
) -> tuple[str, ...]:
    best: dict[str, Passage] = {}
    for passage in retrieved:
        if passage.doc_id in relevant:
            best.setdefault(passage.doc_id, passage)
    missing = sorted(relevant - set(best))
    if missing:
        stored = backend.get(index, sorted(backend.existing_passages(index, missing)))
        for passage in sorted(stored.values(), key=lambda p: p.position, reverse=True):
            best[passage.doc_id] = passage
    return tuple(best[doc].content for doc in sorted(best))


def _check_ids(
    backend: Backend, index: str, queries: dict[str, str], qrels: dict[str, dict[str, int]]
) -> None:
    unknown = sorted(set(qrels) - set(queries))
    if unknown:
        raise InputError(
            f"The qrels name {len(unknown)} queries missing from the queries file, e.g. "
            f"'{unknown[0]}'. Use the queries file that goes with these qrels."
        )
    documents = sorted({doc for judged in qrels.values() for doc in judged})
    stored = {pid.rsplit("#", 1)[0] for pid in backend.existing_passages(index, documents)}
    absent = [doc for doc in documents if doc not in stored]
    if absent:
        raise InputError(
            f"The qrels name {len(absent)} of {len(documents)} documents missing from index "
            f"'{index}', e.g. '{absent[0]}'. Ingest the corpus these qrels refer to into "
            f"'{index}'."
        )
