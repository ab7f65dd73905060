"""The workbench's searches: each laid out stage by stage, and the legs of recent ones kept so
that a what-if (another fusion, rerank weight or depth) reorders the same retrieved passages
without searching again, and with the reranker's score memory without running the model."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import DEFAULT_CANDIDATES
from ..errors import ConfigError
from ..fusion import FusionSpec
from ..search.pipeline import SearchResult
from ..searcher import Searcher
from ..types import LegHit
from .overlap import jaccard, rank_biased_overlap
from .stages import stage_view

DEFAULT_SIZE = 10
KEPT_SEARCHES = 64  # searches whose legs a what-if can reuse


@dataclass(frozen=True)
class Settings:
    """What a what-if may change; ``None`` is what is stored with the index (else the
    default)."""

    fusion: FusionSpec | None = None
    rerank_weight: float | None = None
    rerank_depth: int | None = None
    rerank: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        """Settings from the page's JSON (``fusion`` as ``FusionSpec.to_dict`` writes it)."""
        fusion = data.get("fusion")
        if fusion is not None and not isinstance(fusion, dict):
            raise ConfigError('`fusion` must be an object such as {"method": "rrf"}.')
        return cls(
            fusion=FusionSpec.from_dict(fusion) if fusion else None,
            rerank_weight=_number(data, "rerank_weight", float),
            rerank_depth=_number(data, "rerank_depth", int),
            rerank=bool(data.get("rerank", True)),
        )


@dataclass(frozen=True)
class _Retrieved:
    legs: dict[str, list[LegHit]]
    filter: tuple[dict, ...]
    warnings: tuple[str, ...]


class WorkbenchSearches:
    """Stage-by-stage searches of the indices ``open_searcher`` gives by name."""

    def __init__(self, open_searcher: Callable[[str], Searcher], kept: int = KEPT_SEARCHES) -> None:
        self.open_searcher = open_searcher
        self.kept = kept
        self._retrieved: OrderedDict[str, _Retrieved] = OrderedDict()
        self._lock = threading.Lock()

    def search(
        self,
        index: str,
        query: str,
        settings: Settings = Settings(),
        *,
        size: int = DEFAULT_SIZE,
        candidates: int = DEFAULT_CANDIDATES,
        filter: dict | list[dict] | None = None,
        reuse: bool = False,
    ) -> dict[str, Any]:
        """``query`` on ``index`` under ``settings``, as columns of ``size`` hits per stage.
        With ``reuse``, the legs of the same search made earlier (same query, candidates and
        filter) are ordered again instead of retrieved. Every retrieved passage is put in
        final order, so the whole rerank pool is scored once, exactly, and what-ifs find its
        scores in the reranker's memory."""
        if size < 1:
            raise ConfigError(f"`size` must be at least 1, got {size}.", settings=("size",))
        searcher = self.open_searcher(index)
        key = json.dumps([index, query, candidates, filter], sort_keys=True)
        every = 2 * candidates  # the legs' union is at most this long
        options = {
            "top_k": every,
            "fusion": settings.fusion,
            "rerank": settings.rerank,
            "rerank_weight": settings.rerank_weight,
            "rerank_depth": settings.rerank_depth,
            "draft": False,  # exact scores, which later drafts and checks both recall
        }
        started = time.perf_counter()
        kept = self._recall(key) if reuse else None
        if kept is None:
            result = searcher.search(query, candidates=candidates, filter=filter, **options)
            self._keep(key, _Retrieved(result.legs, result.filter, result.warnings))
        else:
            result = searcher.pipeline.rank(
                query, kept.legs, warnings=kept.warnings, filter=kept.filter, **options
            )
        took = time.perf_counter() - started
        return {
            "index": index,
            "query": query,
            **_settings_used(result),
            "reused": kept is not None,
            "took_ms": round(took * 1000, 1),
            "timings": {name: round(s * 1000, 1) for name, s in result.timings.items()},
            "warnings": list(result.warnings),
            **stage_view(result, size, searcher.meta().analyzer),
        }

    def compare(
        self,
        index: str,
        queries: list[str],
        first: Settings,
        second: Settings,
        *,
        size: int = DEFAULT_SIZE,
        candidates: int = DEFAULT_CANDIDATES,
    ) -> dict[str, Any]:
        """Each of ``queries`` under two configurations: their final top ``size``, how much
        they overlap (Jaccard, rank-biased overlap), the queries that changed most first."""
        if not queries:
            raise ConfigError("Give at least one query to compare on.")
        rows = []
        for query in dict.fromkeys(queries):
            a, b = (
                self.search(index, query, s, size=size, candidates=candidates, reuse=True)
                for s in (first, second)
            )
            top_a, top_b = a["columns"]["final"], b["columns"]["final"]
            rows.append(
                {
                    "query": query,
                    "jaccard": jaccard(top_a, top_b),
                    "rbo": rank_biased_overlap(top_a, top_b),
                    "first": [_short(a["passages"][pid]) for pid in top_a],
                    "second": [_short(b["passages"][pid]) for pid in top_b],
                    "first_described": _described(a),
                    "second_described": _described(b),
                }
            )
        rows.sort(key=lambda row: (row["rbo"], row["jaccard"], row["query"]))
        return {
            "index": index,
            "size": size,
            "queries": len(rows),
            "mean_jaccard": sum(r["jaccard"] for r in rows) / len(rows),
            "mean_rbo": sum(r["rbo"] for r in rows) / len(rows),
            "rows": rows,
        }

    def _recall(self, key: str) -> _Retrieved | None:
        with self._lock:
            found = self._retrieved.get(key)
            if found is not None:
                self._retrieved.move_to_end(key)
            return found

    def _keep(self, key: str, retrieved: _Retrieved) -> None:
        with self._lock:
            self._retrieved[key] = retrieved
            self._retrieved.move_to_end(key)
            while len(self._retrieved) > self.kept:
                self._retrieved.popitem(last=False)


def _settings_used(result: SearchResult) -> dict[str, Any]:
    """How ``result`` was ordered, and what the cross-encoder did for it."""
    return {
        "fusion": result.fusion.to_dict(),
        "fusion_described": result.fusion.describe(),
        "rerank_mode": "ensemble" if result.ensemble else "interpolate",
        "reranked": result.reranked,
        "rerank_reason": result.rerank_reason,
        "reranker": result.reranker,
        "reranker_runtime": result.reranker_runtime,
        "rerank_weight": result.rerank_weight,
        "rerank_pool": result.rerank_pool,
        "rerank_scored": result.rerank_scored,
        "rerank_checked": result.rerank_checked,
        # the pairs the cross-encoder ran for this answer: scores and checks not in its memory
        "model_pairs": result.rerank_scored + result.rerank_checked - result.rerank_recalled,
        "candidates": {name: len(hits) for name, hits in result.legs.items()},
    }


def _short(passage: dict[str, Any]) -> dict[str, str]:
    return {
        "passage_id": passage["passage_id"],
        "doc_id": passage["doc_id"],
        "title": passage["title"],
    }


def _described(view: dict[str, Any]) -> str:
    rerank = f"rerank weight {view['rerank_weight']:g}" if view["reranked"] else "not reranked"
    return f"{view['fusion_described']}; {rerank}"


def _number(data: dict[str, Any], name: str, kind: type):
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"`{name}` must be a number, got {value!r}.", settings=(name,))
    if kind is int and value != int(value):
        raise ConfigError(f"`{name}` must be a whole number, got {value!r}.", settings=(name,))
    return kind(value)
