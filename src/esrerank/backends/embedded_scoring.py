"""Scoring on the embedded store: Lucene's BM25 over the postings table and exact cosine kNN
over the embeddings, from an in-memory snapshot of what every query reads."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..types import LegHit
from .analysis import bm25_scores, encoded_length, term_frequencies
from .base import IndexMeta, rank_hits
from .filters import Filter, check_embedded, matches
from .schema import ESRERANK_SCHEMA

Scored = list[tuple[int, float]]  # (row id, score), best first
MASKS_KEPT = 32  # filters whose row masks a snapshot remembers
# Stored parts that filters do not test: the analyzed text, and where a passage sits.
UNFILTERED = ("title", "text", "char_start", "char_end", "content_hash")


@dataclass
class Snapshot:
    """What queries read, cached in memory until the database changes."""

    version: tuple[int, int]
    rows: np.ndarray  # row ids, ascending
    lengths: np.ndarray  # Lucene-encoded field length per row
    embeddings: np.ndarray  # (n, dim) float32, unit length
    avg_length: float
    analyzer: str  # the index's BM25 analyzer
    documents: list[dict[str, Any]] | None = None  # per row, the fields filters test
    masks: dict[str, np.ndarray] = field(default_factory=dict)  # filter -> matching rows


def load_snapshot(db: sqlite3.Connection, version: tuple[int, int], meta: IndexMeta) -> Snapshot:
    """Row ids, field lengths and embeddings of every passage."""
    records = db.execute("SELECT row, length, embedding FROM passages ORDER BY row").fetchall()
    rows = np.array([r[0] for r in records], dtype=np.int64)
    raw_lengths = np.array([r[1] for r in records], dtype=np.float64)
    lengths = np.array([encoded_length(int(n)) for n in raw_lengths], dtype=np.float64)
    embeddings = (
        np.frombuffer(b"".join(r[2] for r in records), dtype=np.float32).reshape(-1, meta.dimension)
        if records
        else np.zeros((0, meta.dimension), dtype=np.float32)
    )
    avg_length = float(raw_lengths.mean()) if records else 0.0
    return Snapshot(version, rows, lengths, embeddings, avg_length, meta.analyzer)


def filter_mask(db: sqlite3.Connection, snapshot: Snapshot, clauses: Filter) -> np.ndarray | None:
    """Which rows match every clause (``None``: no filter), remembered per filter; a clause
    this store cannot evaluate is refused before any row is read."""
    if not clauses:
        return None
    key = json.dumps(clauses, sort_keys=True, default=str)
    if key not in snapshot.masks:
        check_embedded(clauses)
        if snapshot.documents is None:
            sources = db.execute("SELECT source FROM passages ORDER BY row").fetchall()
            snapshot.documents = [
                {
                    name: value
                    for name, value in json.loads(source).items()
                    if name not in UNFILTERED
                }
                for (source,) in sources
            ]
        if len(snapshot.masks) >= MASKS_KEPT:
            snapshot.masks.clear()
        snapshot.masks[key] = np.fromiter(
            (matches(clauses, document) for document in snapshot.documents),
            dtype=bool,
            count=len(snapshot.documents),
        )
    return snapshot.masks[key]


def bm25_best(
    db: sqlite3.Connection, snapshot: Snapshot, text: str, k: int, mask: np.ndarray | None = None
) -> Scored:
    """Lucene BM25 over ``title + text``; a repeated query term counts once per repeat. With
    ``mask``, only matching rows are scored (statistics stay the whole index's, as in Lucene)."""
    doc_count = len(snapshot.rows)
    if doc_count == 0:
        return []
    totals: dict[int, float] = {}
    query_terms, _ = term_frequencies(text, snapshot.analyzer)
    for term, repeats in query_terms.items():
        postings = db.execute("SELECT row, tf FROM postings WHERE term=?", (term,)).fetchall()
        if not postings:
            continue
        rows = np.fromiter((row for row, _ in postings), dtype=np.int64, count=len(postings))
        tf = np.fromiter((tf for _, tf in postings), dtype=np.float64, count=len(postings))
        positions = np.searchsorted(snapshot.rows, rows)
        lengths = snapshot.lengths[positions]
        scores = repeats * bm25_scores(tf, lengths, len(postings), doc_count, snapshot.avg_length)
        if mask is not None:
            rows, scores = rows[mask[positions]], scores[mask[positions]]
        for row, score in zip(rows.tolist(), scores.tolist(), strict=True):
            totals[row] = totals.get(row, 0.0) + score
    return sorted(totals.items(), key=lambda item: -item[1])[:k]


def nearest(
    snapshot: Snapshot, vector: np.ndarray, k: int, mask: np.ndarray | None = None
) -> Scored:
    """Exact cosine nearest neighbours (among the rows ``mask`` keeps), scored
    ``(1 + cos) / 2``."""
    k = min(k, len(snapshot.rows) if mask is None else int(mask.sum()))
    if k == 0:
        return []
    query = np.asarray(vector, dtype=np.float32)
    query = query / (np.linalg.norm(query) or 1.0)
    cosine = snapshot.embeddings @ query
    if mask is not None:
        cosine = np.where(mask, cosine, -np.inf)
    top = np.argpartition(-cosine, k - 1)[:k]
    top = top[np.argsort(-cosine[top], kind="stable")]
    return [(int(snapshot.rows[i]), (1.0 + float(cosine[i])) / 2.0) for i in top]


def hits_of(db: sqlite3.Connection, best: Scored) -> list[LegHit]:
    """Ranked hits for scored rows (ties broken by passage id)."""
    sources = {}
    for row, _ in best:
        sources[row] = db.execute("SELECT source FROM passages WHERE row=?", (row,)).fetchone()
    scored = [(ESRERANK_SCHEMA.passage(json.loads(sources[row][0])), score) for row, score in best]
    scored.sort(key=lambda item: (-item[1], item[0].passage_id))
    return rank_hits(scored)
