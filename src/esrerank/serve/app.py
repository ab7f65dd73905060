"""The ASGI application: routes, the API key, size caps, the models' bounded queues and one log
line per request. Models are loaded once, before the first request."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..backends.rest import WHOLE_INDEX_SCORING
from ..config import DEFAULT_CANDIDATES
from ..errors import BackendError, EsrerankError, IndexNotFoundError
from ..searcher import Searcher
from . import rerank_api
from .hybrid import (
    HYBRID,
    MODES,
    OWN_HEADERS,
    PAGE_PARAMS,
    AppSearch,
    HybridSearches,
    Lexical,
    carried_headers,
    dumps,
    finished,
    own_headers,
    parsed,
    pretty,
    relayed_headers,
)
from .metrics import CONTENT_TYPE, Metrics
from .middleware import ApiKeyCheck, RequestLog
from .model_queue import Limits, ModelQueue
from .proxy import OWN_PARAMS, Proxy, Relayed, query_string, raw_path
from .relevance import relevance_search
from .request_body import (
    check_body,
    decoded,
    item_index,
    json_body,
    ndjson_pairs,
    opted_out,
    parse_json,
    readable,
)
from .responses import (
    RequestError,
    bad_request,
    error_body,
    error_of,
    error_response,
    from_library,
)
from .search_answer import engine_answer
from .search_dsl import hybrid_search, may_be_hybrid
from .searchers import Searchers
from .workbench import workbench_routes

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


def build_app(
    searcher: Searcher,
    api_key: str | None,
    limits: Limits,
    proxy: Proxy | None = None,
    default_mode: str = HYBRID,
    modes: dict[str, str] | None = None,
    cors: tuple[str, ...] = (),
) -> Starlette:
    """The server for ``searcher``'s backend and models; requests it does not answer go to the
    cluster through ``proxy`` (none on the embedded store). Searches are answered in
    ``default_mode`` (``hybrid`` or ``rerank``), or the mode ``modes`` names for their index;
    ``cors`` lists the origins a browser page may query from (none: CORS off)."""
    modes = modes or {}
    encoding = ModelQueue(limits.rerank_queue, "bi-encoder")
    reranking = ModelQueue(limits.rerank_queue, "cross-encoder")
    metrics = Metrics(
        lambda: encoding.waiting + reranking.waiting, lambda: searcher.reranker.memory.recalled
    )
    reranker = searcher.pipeline.reranker_choice
    searchers = Searchers(searcher)

    async def elsewhere(request: Request, body: bytes | None = None):
        if proxy is None:
            raise RequestError(
                400,
                "illegal_argument_exception",
                f"{request.method} {request.url.path}: the embedded store answers full-text "
                "searches of esrerank's indices only: serve a cluster (url) for the rest",
            )
        return await proxy.forward(request, body)

    hybrid = (
        HybridSearches(proxy, encoding.run, reranking.run, limits.rerank_timeout) if proxy else None
    )

    def mode_of(request: Request, index: str) -> str:
        mode = request.query_params.get("esrerank_mode") or modes.get(index, default_mode)
        if mode not in MODES:
            raise bad_request(f"[esrerank_mode] must be one of {', '.join(MODES)}, got [{mode}]")
        return mode

    async def relevance(request: Request, index: str, body: Any, params: dict[str, str]):
        """The searcher, schema and reading of a search esrerank answers, or None."""
        if relevance_search(body, params, None) is None:  # its shape alone says no
            return None
        try:
            target, schema = await run_in_threadpool(searchers.open, index)
        except (IndexNotFoundError, BackendError):  # not an index esrerank knows
            return None
        text_fields = frozenset(
            f for f in (schema.title_field, schema.text_field, schema.match_field) if f
        )
        found = relevance_search(body, params, text_fields)
        return None if found is None else (target, schema, found)

    async def search(request: Request):
        index = request.path_params["index"]
        raw = await request.body()
        check_body(raw)
        if proxy is None:
            return await embedded_search(request, index, raw)
        body = json_body(request, raw)
        params = {k: v for k, v in request.query_params.items() if k not in OWN_PARAMS}
        if body is None or opted_out(request, index):
            return await elsewhere(request, raw)
        found = await relevance(request, index, body, params)
        if found is None:
            return await elsewhere(request, raw)
        target, schema, wanted = found
        mode = mode_of(request, index)
        path, leg_params = raw_path(request), query_string(request, PAGE_PARAMS)
        headers = carried_headers(request.headers)
        app_search = AppSearch(target, schema, path, leg_params, headers, body, wanted, mode)
        leg, answered = await hybrid.answer(app_search, hybrid.lexical(app_search))
        if answered is None:  # the engine refused the search
            if 400 <= leg.exchange.status < 500:  # its error for the body as the app sent it,
                return await elsewhere(request, raw)  # positions in it included
            return Relayed(leg.exchange)
        metrics.search(answered.result)
        rebuilt = answered.body
        if request.query_params.get("esrerank_explain") == "true":
            rebuilt["esrerank"] = answered.result.to_dict()
        rebuilt = finished(rebuilt, params.get("filter_path"))
        headers_out = relayed_headers(leg.exchange, own_headers(answered, mode))
        body_out = dumps(rebuilt, pretty(params))
        return Relayed(replace(leg.exchange, headers=headers_out, body=body_out))

    async def msearch(request: Request):
        """Each item answered as ``_search`` would be: the items esrerank answers go to the
        engine in the application's ``_msearch`` (widened) with the others, their dense legs
        run meanwhile; every other item, error or not, is the engine's as it sent it."""
        raw = await request.body()
        check_body(raw)
        url_index = request.path_params.get("index")
        items = ndjson_pairs(raw) if proxy is not None and readable(request) else None
        if items is None or opted_out(request, url_index or "_"):
            return await elsewhere(request, raw)
        mode_of(request, "")  # a bad esrerank_mode is a 400 before any item starts
        headers = carried_headers(request.headers)
        lines, answering = [], []
        for number, (header, body) in enumerate(items):
            index = item_index(header, url_index)
            found = None
            if index is not None and isinstance(body, dict):
                found = await relevance(request, index, body, {})
            if found is None:
                lines += [dumps(header), dumps(body)]
                continue
            target, schema, wanted = found
            if "search_type" not in header and "search_type" not in request.query_params:
                header = {**header, "search_type": WHOLE_INDEX_SCORING}  # as _search's leg
            lines += [dumps(header), dumps(wanted.widened(body))]
            lexical = asyncio.get_running_loop().create_future()
            path = "/" + quote(index, safe="")
            app_search = AppSearch(
                target,
                schema,
                path + "/_search",
                "",
                headers,
                body,
                wanted,
                mode_of(request, index),
            )
            work = hybrid.answer(app_search, lexical)
            answering.append((number, lexical, asyncio.ensure_future(work)))
        try:
            exchange = await proxy.exchange(
                "POST",
                raw_path(request) + query_string(request, PAGE_PARAMS),
                headers,
                b"\n".join(lines) + b"\n",
            )
        except BaseException:
            for _, _, work in answering:
                work.cancel()
            raise
        answer = parsed(exchange)
        responses = (answer or {}).get("responses")
        if not isinstance(responses, list) or len(responses) != len(items):
            for _, _, work in answering:
                work.cancel()
            return Relayed(exchange)
        for number, lexical, _ in answering:
            item = responses[number]
            ok = isinstance(item, dict) and "error" not in item
            lexical.set_result(Lexical(exchange, item if ok else None))
        outcomes = await asyncio.gather(*(work for _, _, work in answering), return_exceptions=True)
        for (number, _, _), outcome in zip(answering, outcomes, strict=True):
            if isinstance(outcome, RequestError | EsrerankError):  # this item's error, in the
                responses[number] = error_body(*error_of(outcome))  # engines' shape
            elif isinstance(outcome, BaseException):
                raise outcome
            elif outcome[1] is not None:
                metrics.search(outcome[1].result)
                responses[number] = outcome[1].body
        answer = finished(answer, request.query_params.get("filter_path"))
        own = {"x-esrerank-answered": f"{len(answering)}/{len(items)}"}
        return Relayed(
            replace(
                exchange,
                headers=relayed_headers(exchange, own),
                body=dumps(answer, pretty(request.query_params)),
            )
        )

    async def embedded_search(request: Request, index: str, raw: bytes):
        """A search of the embedded store: the text of a plain full-text query, searched by
        esrerank itself (there is no engine to run the application's request)."""
        if opted_out(request, index):
            return await elsewhere(request, raw)
        body = decoded(raw) if raw else {}  # checked above
        if not may_be_hybrid(body):
            return await elsewhere(request, raw)
        target, schema = await run_in_threadpool(searchers.open, index)
        text_fields = frozenset(
            f for f in (schema.title_field, schema.text_field, schema.match_field) if f
        )
        wanted = hybrid_search(body, text_fields)
        if wanted is None:
            return await elsewhere(request, raw)
        started = time.perf_counter()
        window = max(DEFAULT_CANDIDATES, wanted.start + wanted.size)
        run = functools.partial(
            target.search,
            wanted.text,
            top_k=window,
            candidates=window,
            filter=list(wanted.filters),
            rerank_timeout=limits.rerank_timeout,
        )
        result = await reranking.run(run)
        metrics.search(result)
        took = int((time.perf_counter() - started) * 1000)
        explain = request.query_params.get("esrerank_explain") == "true"
        return JSONResponse(engine_answer(index, result, wanted, schema, took, explain))

    async def prometheus(request: Request) -> Response:
        return Response(metrics.text(), media_type=CONTENT_TYPE)

    async def anything(request: Request):
        return await elsewhere(request)

    async def body_of(request: Request) -> Any:
        return parse_json(await request.body())

    async def scores(query: str, documents: tuple[str, ...]) -> list[float]:
        model = searcher.models.reranker(reranker)
        outcome = await reranking.run(model.score, query, list(documents), limits.rerank_timeout)
        if outcome.scores is None:
            raise RequestError(503, "rerank_exception", f"reranking failed: {outcome.reason}")
        return outcome.scores.tolist()

    async def cohere(request: Request) -> JSONResponse:
        version = "2" if request.url.path.startswith("/v2") else "1"
        parsed = rerank_api.cohere_request(await body_of(request))
        found = await scores(parsed.query, parsed.documents)
        return JSONResponse(rerank_api.cohere_answer(parsed, found, version))

    async def tei_rerank(request: Request) -> JSONResponse:
        parsed = rerank_api.tei_request(await body_of(request))
        return JSONResponse(
            rerank_api.tei_answer(parsed, await scores(parsed.query, parsed.documents))
        )

    async def embed(request: Request) -> JSONResponse:
        wanted = rerank_api.embed_request(await body_of(request))
        encoder = searcher.encoder
        embed = encoder.encode if wanted.passages else encoder.encode_queries
        vectors = await encoding.run(embed, list(wanted.texts))
        return JSONResponse(vectors.tolist())

    async def health(request: Request) -> JSONResponse:
        backend = searcher.backend
        try:
            reachable = await run_in_threadpool(backend.index_exists, searcher.index)
            cluster: dict[str, Any] = {"reachable": True, "index_exists": reachable}
        except EsrerankError as exc:
            cluster = {"reachable": False, "reason": str(exc)}
        cluster.update(engine=backend.engine, version=backend.version, location=backend.location)
        body = {
            "status": "ok" if cluster["reachable"] else "degraded",
            "models": {
                "bi_encoder": searcher.encoder.label,
                "reranker": searcher.models.reranker(reranker).label,
            },
            "cluster": cluster,
        }
        return JSONResponse(body, status_code=200 if cluster["reachable"] else 503)

    async def refused(request: Request, exc: RequestError) -> JSONResponse:
        retry = {"Retry-After": "1"} if exc.status == 429 else None
        return error_response(exc.status, exc.kind, exc.reason, retry)

    async def failed(request: Request, exc: EsrerankError) -> JSONResponse:
        return from_library(exc)

    async def unrouted(request: Request, exc: HTTPException) -> JSONResponse:
        kind = "no_handler_found_exception" if exc.status_code == 404 else "http_exception"
        reason = f"{request.method} {request.url.path}: {exc.detail}"
        return error_response(exc.status_code, kind, reason, exc.headers)

    routes = [
        Route("/v1/rerank", cohere, methods=["POST"]),
        Route("/v2/rerank", cohere, methods=["POST"]),
        Route("/rerank", tei_rerank, methods=["POST"]),
        Route("/embed", embed, methods=["POST"]),
        Route("/healthz", health, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
        Route("/{index}/_search", search, methods=["GET", "POST"]),
        Route("/_msearch", msearch, methods=["GET", "POST"]),
        Route("/{index}/_msearch", msearch, methods=["GET", "POST"]),
        *workbench_routes(
            searcher, lambda index: searchers.open(index)[0], reranking.run, tuple(cors)
        ),
        Route("/{path:path}", anything, methods=METHODS),
    ]
    middleware = [Middleware(RequestLog, metrics=metrics)]
    if cors:  # a browser page on these origins may query serve (its preflights need no key)
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors),
                allow_methods=METHODS,
                allow_headers=["*"],
                expose_headers=["x-elastic-product", *OWN_HEADERS],
            )
        )
    middleware.append(Middleware(ApiKeyCheck, api_key=api_key))
    handlers = {RequestError: refused, EsrerankError: failed, HTTPException: unrouted}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        for models in (encoding, reranking):
            models.thread.shutdown(wait=False, cancel_futures=True)
        if proxy is not None:
            await proxy.close()

    return Starlette(
        routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan
    )
