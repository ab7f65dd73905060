"""The ASGI application: routes, the API key, size caps, the models' bounded queues and one log
line per request. Models are loaded once, before the first request."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
from .proxy import OWN_PARAMS, Proxy, Relayed, query_string, raw_path
from .relevance import relevance_search
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

log = logging.getLogger("esrerank.serve")

MAX_BODY = 10 * 1024 * 1024  # bytes of one request body
MAX_DEPTH = 100  # levels of nested lists and objects in one body
STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')  # JSON strings, whose brackets do not nest
BRACKETS = re.compile(rb"[\[\]{}]")
# An index or alias name esrerank looks up itself: no list, wildcard, or character a URL would
# escape. Searches of any other name go to the engine as sent.
PLAIN_INDEX = re.compile(r"[a-z0-9][a-z0-9_.+-]*")
OPEN_PATHS = ("/healthz",)  # answered without the API key
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


@dataclass
class Limits:
    """How much the server takes on: requests waiting for the cross-encoder beyond the one it
    runs (more get 429), and the seconds one rerank may take."""

    rerank_queue: int = 16
    rerank_timeout: float | None = None


def opted_out(request: Request, index: str) -> bool:
    """A search the application sends to the engine as it is: ``?esrerank=off``, a Lucene
    ``q``, or an index name that is a pattern or list."""
    return (
        request.query_params.get("esrerank") == "off"
        or "q" in request.query_params
        or not PLAIN_INDEX.fullmatch(index)
    )


def readable(request: Request) -> bool:
    """Whether esrerank may read the request's body and write its answer: JSON both ways, the
    body not compressed (the engine answers the others)."""
    headers = request.headers
    if headers.get("content-encoding", "identity") != "identity":
        return False
    for name in ("content-type", "accept"):
        value = headers.get(name, "").lower()
        if value and "json" not in value and not value.startswith("*/*"):
            return False
    return True


def json_body(request: Request, raw: bytes) -> Any:
    """The JSON of a search body esrerank may read, or None: a body in another format or
    compressed, an answer asked for in another format, or a body that is not JSON (the engine
    answers those with its own errors)."""
    if not readable(request):
        return None
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def ndjson_pairs(raw: bytes) -> list[tuple[dict, Any]] | None:
    """The header and body of each ``_msearch`` item, or None when the body is not that."""
    lines = [line for line in raw.split(b"\n") if line.strip()]
    if not lines or len(lines) % 2:
        return None
    try:
        decoded = [json.loads(line) for line in lines]
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    pairs = list(zip(decoded[::2], decoded[1::2], strict=True))
    return pairs if all(isinstance(header, dict) for header, _ in pairs) else None


def item_index(header: dict, url_index: str | None) -> str | None:
    """The one plain index an ``_msearch`` item searches, or None."""
    index = header.get("index", url_index)
    if isinstance(index, list) and len(index) == 1:
        index = index[0]
    if not isinstance(index, str) or not PLAIN_INDEX.fullmatch(index):
        return None
    return index


def parse_json(raw: bytes) -> Any:
    check_body(raw)
    return decoded(raw)


def decoded(raw: bytes) -> Any:
    """The JSON in a body ``check_body`` passed."""
    try:
        return json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(400, "parse_exception", f"the body is not JSON: {exc}") from None


def check_body(raw: bytes) -> None:
    """Refuse a body over the size cap or nested too deep. Bodies sent on to the cluster are
    checked too: OpenSearch 2.19 exits on a StackOverflowError parsing one 5,000 levels deep."""
    if len(raw) > MAX_BODY:
        raise RequestError(413, "content_too_long_exception", f"body over {MAX_BODY} bytes")
    depth = deepest = 0
    for bracket in BRACKETS.findall(STRINGS.sub(b"", raw)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise RequestError(400, "parse_exception", f"the body nests deeper than {MAX_DEPTH} levels")


class ModelQueue:
    """Model calls run one at a time on one thread of their own, at most ``limit`` waiting; a
    request beyond that is refused at once (429), so memory stays bounded however many clients
    call. One thread, not a pool: an OpenVINO model keeps an infer request, with buffers sized
    to the largest batch it has seen, per thread that runs it; and a call whose client went away
    still finishes before the next one starts. The server keeps one queue for the bi-encoder
    and one for the cross-encoder, so embedding a query never waits behind another search's
    rerank."""

    def __init__(self, limit: int, name: str) -> None:
        self.limit = limit
        self.waiting = 0
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"esrerank-{name}")

    async def run(self, work, *args):
        if self.waiting >= self.limit:
            raise RequestError(
                429, "rejected_execution_exception", f"the model queue is full ({self.limit})"
            )
        self.waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.thread, work, *args)
        finally:
            self.waiting -= 1


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
    searchers = {searcher.index: searcher}

    def searcher_for(index: str) -> Searcher:
        """A searcher per index, sharing the backend and the loaded models."""
        if index not in searchers:
            searchers[index] = Searcher(
                index=index, backend=searcher.backend, models=searcher.models, reranker=reranker
            )
        return searchers[index]

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
        target = searcher_for(index)
        try:
            schema = (await run_in_threadpool(target.meta)).index_schema()
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
        target = searcher_for(index)
        schema = (await run_in_threadpool(target.meta)).index_schema()
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
        texts = rerank_api.embed_inputs(await body_of(request))
        vectors = await encoding.run(searcher.encoder.encode_queries, list(texts))
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


class ApiKeyCheck:
    """With a key set, every request but the health check carries it (``Authorization: Bearer
    KEY`` or ``ApiKey KEY``, or ``x-api-key``), compared in constant time. Plain ASGI, as is
    ``RequestLog``: Starlette's ``BaseHTTPMiddleware`` costs a task and a stream per request."""

    def __init__(self, app: ASGIApp, api_key: str | None) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.api_key is None or scope["path"] in OPEN_PATHS:
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        given = headers.get("x-api-key", "")
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() in ("bearer", "apikey"):
            given = token
        if hmac.compare_digest(given.encode(), self.api_key):
            return await self.app(scope, receive, send)
        reason = "missing or wrong API key: send Authorization: Bearer KEY"
        refusal = error_response(401, "security_exception", reason, {"WWW-Authenticate": "Bearer"})
        await refusal(scope, receive, send)


class RequestLog:
    """One line per request (method, path, status, milliseconds to the last byte), counted in
    the metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            path = scope["path"]
            self.metrics.request(path, status, elapsed)
            log.info("%s %s %d %.1fms", scope["method"], path, status, elapsed * 1000)
