"""An application's relevance search made hybrid on a cluster.

The lexical leg is the application's own request, sent as it wrote it (query, filters, aggs,
highlight, suggest, field options, URL parameters) with its page widened to the rerank window,
and scored with the whole index's term statistics unless the application chose a
``search_type`` itself (as ``esrerank query`` scores it, whatever the index's shard count).
The dense leg is kNN over the text of its full-text clauses under its filters. Both legs are
fused and reranked by the same ``SearchPipeline.rank`` as ``esrerank query``; the answer is the
engine's own with its hits reordered and re-scored (``esrerank.serve.reordered``). Every call
to the cluster carries the application's own headers (its credentials included)."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote_plus

from ..backends.rest import WHOLE_INDEX_SCORING
from ..backends.schema import IndexSchema
from ..errors import BackendError
from ..search.pipeline import SearchResult
from ..searcher import Searcher
from ..types import BM25, DENSE, LegHit
from .filter_path import apply_filter_path
from .proxy import HOP_BY_HOP, Exchange, Proxy
from .relevance import RelevanceSearch
from .reordered import explanation, final_scores, hit_key, reordered_answer

log = logging.getLogger("esrerank.serve")

HYBRID, RERANK = "hybrid", "rerank"
MODES = (HYBRID, RERANK)
# Headers of the application's request that are not carried onto esrerank's own calls: its
# body's length and encoding (esrerank sends a body of its own) and compression of the answer
# (esrerank reads the answer).
NOT_CARRIED = HOP_BY_HOP | {"content-length", "content-encoding", "accept-encoding"}
# Headers of the engine's answer not relayed with a rebuilt body.
NOT_RELAYED = HOP_BY_HOP | {"content-length", "content-encoding"}
# Body keys the fetch of dense-only hits leaves out: it asks for those hits alone, in the
# application's field options (``_source``, ``fields``, ``highlight``, ``explain``, a ``sort``
# on the score, ...).
NOT_FETCHED = frozenset(
    {
        "aggs",
        "aggregations",
        "suggest",
        "post_filter",
        "from",
        "size",
        "rescore",
        "min_score",
        "track_total_hits",
        "terminate_after",
        "profile",
        "track_scores",
    }
)
# The headers that say how esrerank ordered an answer's hits.
OWN_HEADERS = (
    "x-esrerank-mode",
    "x-esrerank-reranked",
    "x-esrerank-rerank-reason",
    "x-esrerank-rerank-scored",
    "x-esrerank-dense-failure",
    "x-esrerank-answered",
    "server-timing",
)
PAGE_PARAMS = frozenset({"from", "size", "filter_path"})  # applied by esrerank, not the engine

RunModel = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Lexical:
    """The lexical leg's answer: parsed when the engine answered it, else as the engine sent it
    (an error the application gets as it is)."""

    exchange: Exchange
    answer: dict[str, Any] | None


@dataclass(frozen=True)
class AppSearch:
    """One application search esrerank answers: the index's searcher and schema, the search
    path (``/INDEX/_search``, as sent) and the URL parameters its calls carry, the application's
    headers and body, what esrerank read from it, and the mode."""

    target: Searcher
    schema: IndexSchema
    path: str
    params: str
    headers: list
    body: dict
    search: RelevanceSearch
    mode: str


@dataclass(frozen=True)
class Answered:
    """A search answered: the rebuilt body, and how its hits were ordered."""

    body: dict[str, Any]
    result: SearchResult
    dense_failure: str = ""


@dataclass(frozen=True)
class DenseLeg:
    """The kNN leg's hits, why it failed if it did, and each hit's collapse value."""

    hits: list[LegHit]
    failure: str = ""
    groups: dict[str, Any] = field(default_factory=dict)


class HybridSearches:
    """Answers relevance searches on the cluster behind ``proxy``, embedding through
    ``run_encoder`` and ranking through ``run_ranker`` (the server's model queues)."""

    def __init__(
        self,
        proxy: Proxy,
        run_encoder: RunModel,
        run_ranker: RunModel,
        rerank_timeout: float | None,
    ) -> None:
        self.proxy = proxy
        self.run_encoder = run_encoder
        self.run_ranker = run_ranker
        self.rerank_timeout = rerank_timeout

    async def lexical(self, wanted: AppSearch) -> Lexical:
        """The application's search, widened to the window, as the engine answers it."""
        path = wanted.path + whole_index_scored(wanted.params)
        widened = wanted.search.widened(wanted.body)
        exchange = await self.proxy.exchange("POST", path, wanted.headers, dumps(widened))
        return Lexical(exchange, parsed(exchange))

    async def answer(
        self, wanted: AppSearch, lexical: Awaitable[Lexical]
    ) -> tuple[Lexical, Answered | None]:
        """The answer to one search: its lexical leg (awaited beside the dense leg), then fusion,
        the rerank and the fetch of the dense leg's hits on the page. Without a parsed lexical
        answer (the engine refused the search) there is nothing to reorder."""
        search = wanted.search
        started = time.perf_counter()
        leg, dense_leg = await asyncio.gather(lexical, self.dense(wanted))
        dense = dense_leg.hits
        if leg.answer is None:
            return leg, None
        lexical_hits = leg.answer.get("hits", {}).get("hits", [])
        by_key = {hit_key(hit): hit for hit in lexical_hits}
        lexical_leg = await self.lexical_leg(wanted, lexical_hits)
        if wanted.mode == RERANK:
            dense = [h for h in dense if h.passage.passage_id in by_key]
        rank = functools.partial(
            wanted.target.pipeline.rank,
            search.text,
            {BM25: lexical_leg, DENSE: dense},
            # the page's end: the cross-encoder stops once the page is known (a collapse needs
            # the whole window's order)
            top_k=search.window if search.collapse else max(1, search.start + search.size),
            rerank_timeout=self.rerank_timeout,
            filter=search.filters,
        )
        result = await self.run_ranker(rank)
        order = [hit.passage_id for hit in result.hits]
        if search.collapse:
            groups = {**dense_leg.groups, **collapse_values(lexical_hits, search.collapse)}
            order = collapsed(order, groups)
        page = order[search.start : search.start + search.size]
        fetched = await self.fetch(wanted, page, by_key)
        scores = final_scores(result)
        hits = [fetched[key] for key in page if key in fetched]
        if search.explain:
            ranked = {hit.passage_id: hit for hit in result.hits}
            hits = [
                {**hit, "_explanation": explanation(ranked[key], hit.get("_explanation"), result)}
                for key, hit in ((hit_key(h), h) for h in hits)
            ]
        added = sum(1 for h in dense if h.passage.passage_id not in by_key)
        rebuilt = reordered_answer(
            leg.answer, hits, scores, scores[order[0]] if order else None, added
        )
        if "took" in rebuilt:  # the whole answer's time: both legs, the rerank, the fetch
            rebuilt["took"] = int((time.perf_counter() - started) * 1000)
        return leg, Answered(rebuilt, result, dense_leg.failure)

    async def dense(self, wanted: AppSearch) -> DenseLeg:
        """kNN over the search's text under its filters; on a failure of the engine, no hits and
        why (the answer then holds the lexical hits alone, and says so)."""
        search, schema, target = wanted.search, wanted.schema, wanted.target

        def embed():
            return target.pipeline.checked_encoder().encode_queries([search.text])[0]

        vector = await self.run_encoder(embed)
        backend = target.backend
        body = backend.dense_body(schema, vector.tolist(), search.window, search.filters)
        body["_source"] = {"excludes": [schema.vectors]}
        if search.collapse:
            body["docvalue_fields"] = [search.collapse]
        exchange = await self.proxy.exchange("POST", wanted.path, wanted.headers, dumps(body))
        answer = parsed(exchange)
        if answer is None:
            reason = f"the dense leg failed ({exchange.status}): {exchange.body[:300]!r}"
            log.warning("%s", reason)
            return DenseLeg([], reason)
        hits = answer.get("hits", {}).get("hits", [])
        groups = collapse_values(hits, search.collapse) if search.collapse else {}
        return DenseLeg(leg_hits(schema, hits), "", groups)

    async def lexical_leg(self, wanted: AppSearch, hits: list[dict]) -> list[LegHit]:
        """The lexical hits as passages for the cross-encoder; the text of those whose
        ``_source`` the application filtered is fetched."""
        schema = wanted.schema
        needed = [f for f in (schema.title_field, schema.text_field) if f]
        lacking = [
            h for h in hits if "_id" in h and not all(f in (h.get("_source") or {}) for f in needed)
        ]
        texts: dict[str, dict] = {}
        if lacking:
            body = {
                "query": {"ids": {"values": sorted({h["_id"] for h in lacking})}},
                "size": len(lacking),
                "_source": {"excludes": [schema.vectors]},
            }
            exchange = await self.proxy.exchange("POST", wanted.path, wanted.headers, dumps(body))
            found = (parsed(exchange) or {}).get("hits", {}).get("hits", [])
            texts = {hit_key(h): h.get("_source") or {} for h in found}
        sources = [texts.get(hit_key(h), h.get("_source") or {}) for h in hits]
        return leg_hits(schema, hits, sources)

    async def fetch(
        self, wanted: AppSearch, page: list[str], lexical: dict[str, dict]
    ) -> dict[str, dict]:
        """The page's hits as the engine gives them for the application's field options: the
        lexical ones from its answer, the dense leg's through one more search of their ids
        (the application's query beside them, so a highlight shows what matched)."""
        body = wanted.body
        found = {key: lexical[key] for key in page if key in lexical}
        missing = [key for key in page if key not in lexical]
        if not missing:
            return found
        ids = sorted({key.partition("/")[2] for key in missing})
        query: dict[str, Any] = {"bool": {"filter": [{"ids": {"values": ids}}]}}
        if body.get("query"):
            query["bool"]["should"] = [body["query"]]
        asked = {k: v for k, v in body.items() if k not in NOT_FETCHED}
        asked.update(query=query, size=len(ids) * 4, track_total_hits=False)
        path = wanted.path + whole_index_scored(wanted.params)  # explained as the leg's hits
        exchange = await self.proxy.exchange("POST", path, wanted.headers, dumps(asked))
        answer = parsed(exchange)
        if answer is None:
            raise BackendError(
                f"fetching the dense leg's hits failed ({exchange.status}): {exchange.body[:300]!r}"
            )
        for hit in answer.get("hits", {}).get("hits", []):
            if hit_key(hit) in missing:
                found[hit_key(hit)] = hit
        return found


def whole_index_scored(params: str) -> str:
    """URL parameters (``?...`` or empty) with ``search_type`` set to score with the whole
    index's term statistics, unless they set one already."""
    names = {unquote_plus(part.partition("=")[0]) for part in params.lstrip("?").split("&")}
    if "search_type" in names:
        return params
    return (f"{params}&" if params else "?") + f"search_type={WHOLE_INDEX_SCORING}"


def leg_hits(
    schema: IndexSchema, hits: list[dict], sources: list[dict] | None = None
) -> list[LegHit]:
    """Engine hits as one leg's ranked passages, each identified by ``hit_key``."""
    sources = sources if sources is not None else [h.get("_source") or {} for h in hits]
    scored = [
        (replace(schema.passage(source, hit["_id"]), passage_id=hit_key(hit)), hit["_score"])
        for hit, source in zip(hits, sources, strict=True)
        if isinstance(hit.get("_score"), int | float) and "_id" in hit
    ]
    scored.sort(key=lambda item: (-item[1], item[0].passage_id))
    return [LegHit(p, float(s), rank) for rank, (p, s) in enumerate(scored, start=1)]


def collapse_values(hits: list[dict], field_name: str) -> dict[str, Any]:
    """Each hit's value of the collapse field, as the engine returned it in ``fields``."""
    values = {}
    for hit in hits:
        found = (hit.get("fields") or {}).get(field_name) or [None]
        values[hit_key(hit)] = json.dumps(found[0], sort_keys=True)
    return values


def collapsed(order: list[str], groups: dict[str, Any]) -> list[str]:
    """``order`` with the first hit of each collapse value only (hits without one form one
    group, as in the engines)."""
    seen: set = set()
    kept = []
    for key in order:
        value = groups.get(key, "null")
        if value not in seen:
            seen.add(value)
            kept.append(key)
    return kept


def carried_headers(headers) -> list[tuple[str, str]]:
    """The application's headers for esrerank's calls to the cluster on its behalf."""
    carried = [(k, v) for k, v in headers.items() if k.lower() not in NOT_CARRIED]
    if not any(k.lower() == "content-type" for k, _ in carried):
        carried.append(("content-type", "application/json"))
    return carried


def parsed(exchange: Exchange) -> dict[str, Any] | None:
    """The engine's answer when it is a JSON success, else None."""
    if not 200 <= exchange.status < 300 or "json" not in exchange.header("content-type"):
        return None
    try:
        answer = json.loads(exchange.body)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def dumps(value: Any, pretty: bool = False) -> bytes:
    """JSON as the engines write it: compact, or indented for ``?pretty``."""
    if pretty:
        return json.dumps(value, ensure_ascii=False, indent=2).encode()
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def pretty(params) -> bool:
    """Whether the application asked for ``?pretty`` output."""
    return "pretty" in params and params["pretty"] != "false"


def relayed_headers(exchange: Exchange, own: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """The engine's answer headers for a rebuilt body, with esrerank's ``own`` beside them."""
    headers = [
        (name, value)
        for name, value in exchange.headers
        if name.decode("latin-1").lower() not in NOT_RELAYED
    ]
    for name, value in own.items():
        headers.append((name.encode(), value.encode("ascii", "replace")))
    return headers


def own_headers(answered: Answered, mode: str) -> dict[str, str]:
    """How esrerank ordered the hits, in headers, so the body keeps the engine's keys."""
    result = answered.result
    headers = {"x-esrerank-mode": mode, "x-esrerank-reranked": str(result.reranked).lower()}
    if result.reranked:
        headers["x-esrerank-rerank-scored"] = f"{result.rerank_scored}/{result.rerank_pool}"
    if result.rerank_reason:
        headers["x-esrerank-rerank-reason"] = " ".join(result.rerank_reason.split())[:300]
    if answered.dense_failure:
        headers["x-esrerank-dense-failure"] = " ".join(answered.dense_failure.split())[:300]
    headers["server-timing"] = ", ".join(
        f"{stage};dur={seconds * 1000:.1f}" for stage, seconds in result.timings.items()
    )
    return headers


def finished(body: dict[str, Any], filter_path: str | None) -> dict[str, Any]:
    """The answer with the application's ``filter_path`` applied."""
    return apply_filter_path(body, filter_path) if filter_path else body
