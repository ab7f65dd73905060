"""The ASGI application: routes, the API key, size caps, the cross-encoder's bounded queue and
one log line per request. Models are loaded once, before the first request."""

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
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import DEFAULT_CANDIDATES
from ..errors import BackendError, EsrerankError, IndexNotFoundError
from ..pipeline import Searcher
from . import rerank_api
from .metrics import CONTENT_TYPE, Metrics
from .proxy import Proxy
from .responses import RequestError, error_response, from_library
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
    still finishes before the next one starts."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.waiting = 0
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="esrerank-model")

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
    searcher: Searcher, api_key: str | None, limits: Limits, proxy: Proxy | None = None
) -> Starlette:
    """The server for ``searcher``'s backend and models; requests it does not answer go to the
    cluster through ``proxy`` (none on the embedded store)."""
    queue = ModelQueue(limits.rerank_queue)
    metrics = Metrics(lambda: queue.waiting)
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

    async def search(request: Request):
        index = request.path_params["index"]
        raw = await request.body()
        check_body(raw)
        opted_out = request.query_params.get("esrerank") == "off"
        if opted_out or "q" in request.query_params or not PLAIN_INDEX.fullmatch(index):
            return await elsewhere(request, raw)
        body = decoded(raw) if raw else {}  # checked above
        if not may_be_hybrid(body):
            return await elsewhere(request, raw)
        target = searcher_for(index)
        try:
            schema = (await run_in_threadpool(target.meta)).index_schema()
        except IndexNotFoundError:
            if proxy is not None:
                return await elsewhere(request, raw)
            raise
        except BackendError:  # not an index esrerank knows: the engine's to answer
            return await elsewhere(request, raw)
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
        result = await queue.run(run)
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
        outcome = await queue.run(model.score, query, list(documents), limits.rerank_timeout)
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
        vectors = await queue.run(searcher.encoder.encode_queries, list(texts))
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
        Route("/{path:path}", anything, methods=METHODS),
    ]
    middleware = [
        Middleware(RequestLog, metrics=metrics),
        Middleware(ApiKeyCheck, api_key=api_key),
    ]
    handlers = {RequestError: refused, EsrerankError: failed, HTTPException: unrouted}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        queue.thread.shutdown(wait=False, cancel_futures=True)
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
