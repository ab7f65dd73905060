"""The relevance workbench in serve: its page under ``/_esrerank/workbench/`` and the calls the
page makes under ``/_esrerank/workbench/api/``.

The page's files are code with no data in them, so they load without the API key (a browser
cannot add a header to a page it navigates to); every call under ``api/`` carries the key like
any other request to serve. A call that changes anything must also be JSON from a page of the
same origin (or one listed with ``--cors-origin``): browsers send a JSON body cross-site only
after a preflight, and say where a request comes from in ``Origin`` and ``Sec-Fetch-Site``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..backends.judgments import Judgment
from ..config import DEFAULT_CANDIDATES
from ..evaluation.judged_tuning import tune_on_judgments
from ..evaluation.judgments import beir_files
from ..searcher import Searcher
from ..workbench.searches import DEFAULT_SIZE, Settings, WorkbenchSearches
from .request_body import parse_json
from .responses import RequestError, bad_request

PAGE_PATH = "/_esrerank/workbench"
API_PATH = f"{PAGE_PATH}/api"
PAGE_FILES = Path(__file__).parent / "workbench_page"
MAX_COMPARED = 200  # queries in one comparison: each may run the cross-encoder once
# Sent with the page's files: scripts and styles from this server only, no framing by other
# sites (the grade buttons cannot be clicked through a page on top), no type sniffing.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class PageFiles(StaticFiles):
    """The page's own files, with ``PAGE_HEADERS``."""

    async def get_response(self, path: str, scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(PAGE_HEADERS)
        return response


def page_file(path: str) -> bool:
    """Whether ``path`` is one of the page's own files (served without the API key)."""
    return (path == PAGE_PATH or path.startswith(f"{PAGE_PATH}/")) and not path.startswith(
        f"{API_PATH}/"
    )


def workbench_routes(
    started: Searcher,
    open_searcher: Callable[[str], Searcher],
    run_model: Callable[..., Awaitable[Any]],
    cors: tuple[str, ...] = (),
) -> list[BaseRoute]:
    """The page and its API for the indices ``open_searcher`` opens (``started`` first);
    searches run through ``run_model``, serve's cross-encoder queue."""
    searches = WorkbenchSearches(open_searcher)

    async def config(request: Request) -> JSONResponse:
        """serve's index, and every esrerank index its backend holds, for the picker."""
        indices = await run_in_threadpool(started.backend.indices)
        return JSONResponse({"index": started.index, "indices": indices, "page_size": DEFAULT_SIZE})

    async def search(request: Request) -> JSONResponse:
        body = await _json_call(request, cors)
        index = _text(body, "index", started.index)
        query = _text(body, "query", None)
        settings = Settings.from_dict(_object(body, "settings"))
        answer = await run_model(
            lambda: searches.search(
                index,
                query,
                settings,
                size=_count(body, "size", DEFAULT_SIZE),
                candidates=_count(body, "candidates", DEFAULT_CANDIDATES),
                filter=body.get("filter"),
                reuse=body.get("reuse") is True,
            )
        )
        return JSONResponse(answer)

    async def compare(request: Request) -> JSONResponse:
        """A list of queries under two configurations, the ones that differ most first."""
        body = await _json_call(request, cors)
        queries = body.get("queries")
        if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
            raise bad_request("[queries] must be a list of strings")
        queries = [q for q in queries if q.strip()]
        if len(queries) > MAX_COMPARED:
            raise bad_request(f"[queries] holds {len(queries)}; compare at most {MAX_COMPARED}")
        index = _text(body, "index", started.index)
        first = Settings.from_dict(_object(body, "first"))
        second = Settings.from_dict(_object(body, "second"))
        size = _count(body, "size", DEFAULT_SIZE)
        answer = await run_model(lambda: searches.compare(index, queries, first, second, size=size))
        return JSONResponse(answer)

    def store(index: str):
        return open_searcher(index).backend.judgments(index)

    async def judgments(request: Request) -> JSONResponse:
        """GET: the index's judgments (of one ``query`` if given); POST: grade a document."""
        if request.method == "GET":
            index = request.query_params.get("index") or started.index
            query = request.query_params.get("query")
            found = await run_in_threadpool(lambda: store(index).all())
            rows = [
                {"query_id": j.query_id, **asdict(j)}
                for j in found
                if query is None or j.query == query
            ]
            return JSONResponse({"index": index, "judgments": rows})
        body = await _json_call(request, cors)
        index = _text(body, "index", started.index)
        judgment = Judgment(
            _text(body, "query", None),
            _text(body, "doc_id", None),
            body.get("grade"),
            str(body.get("passage_id") or ""),
        )
        await run_in_threadpool(lambda: store(index).put([judgment]))
        return JSONResponse({"index": index, "judged": 1})

    async def export(request: Request) -> JSONResponse:
        """The index's judgments in the BEIR layout, each file's text by its path."""
        index = request.query_params.get("index") or started.index
        split = request.query_params.get("split") or "test"
        found = await run_in_threadpool(lambda: store(index).all())
        return JSONResponse({"index": index, "files": beir_files(found, split)})

    async def unjudge(request: Request) -> JSONResponse:
        body = await _json_call(request, cors)
        index = _text(body, "index", started.index)
        query, doc_id = _text(body, "query", None), _text(body, "doc_id", None)
        deleted = await run_in_threadpool(lambda: store(index).delete(query, doc_id))
        return JSONResponse({"index": index, "deleted": deleted})

    async def tune(request: Request) -> JSONResponse:
        """Run the guarded tuning on the index's judgments; apply what it kept (unless
        ``apply`` is false)."""
        body = await _json_call(request, cors)
        index = _text(body, "index", started.index)
        searcher = await run_in_threadpool(open_searcher, index)
        record = await run_model(
            lambda: tune_on_judgments(
                searcher, store(index).all(), apply=body.get("apply", True) is not False
            )
        )
        return JSONResponse(record)

    async def tuning(request: Request) -> JSONResponse:
        """The index's tuned settings now, and the changes that can be undone."""
        index = request.query_params.get("index") or started.index
        searcher = await run_in_threadpool(open_searcher, index)
        return JSONResponse(await run_in_threadpool(_tuning_state, searcher))

    async def undo(request: Request) -> JSONResponse:
        body = await _json_call(request, cors)
        searcher = await run_in_threadpool(open_searcher, _text(body, "index", started.index))
        undone = await run_in_threadpool(searcher.handle.undo_tuning)
        if undone is None:
            raise bad_request(f"index [{searcher.index}] has no tuning from judgments to undo")
        return JSONResponse({"undone": undone, **await run_in_threadpool(_tuning_state, searcher)})

    return [
        Route(f"{API_PATH}/config", config, methods=["GET"]),
        Route(f"{API_PATH}/tune", tune, methods=["POST"]),
        Route(f"{API_PATH}/tuning", tuning, methods=["GET"]),
        Route(f"{API_PATH}/tuning/undo", undo, methods=["POST"]),
        Route(f"{API_PATH}/search", search, methods=["POST"]),
        Route(f"{API_PATH}/compare", compare, methods=["POST"]),
        Route(f"{API_PATH}/judgments", judgments, methods=["GET", "POST"]),
        Route(f"{API_PATH}/judgments/delete", unjudge, methods=["POST"]),
        Route(f"{API_PATH}/judgments/export", export, methods=["GET"]),
        Route(PAGE_PATH, _to_page, methods=["GET", "HEAD"]),
        Mount(PAGE_PATH, app=PageFiles(directory=PAGE_FILES, html=True)),
    ]


def _tuning_state(searcher: Searcher) -> dict[str, Any]:
    handle = searcher.handle
    return {
        "index": searcher.index,
        "fusion": handle.stored_fusion().describe(),
        "rerank_weight": handle.stored_rerank_weight(searcher.reranker.name),
        "ensemble": handle.stored_ensemble(searcher.reranker.name),
        "history": handle.tuning_history(),
    }


async def _to_page(request: Request) -> RedirectResponse:
    return RedirectResponse(f"{PAGE_PATH}/", status_code=308)


async def _json_call(request: Request, cors: tuple[str, ...]) -> dict[str, Any]:
    """The JSON object of a call from the page, refused when it comes from another site."""
    _same_site(request, cors)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise RequestError(
            415,
            "media_type_header_exception",
            f"{request.url.path} takes a JSON body: send Content-Type: application/json",
        )
    body = parse_json(await request.body())
    if not isinstance(body, dict):
        raise bad_request(f"{request.url.path}: the body must be a JSON object")
    return body


def _same_site(request: Request, cors: tuple[str, ...]) -> None:
    """Refuse a call a page on another origin made, unless ``cors`` allows that origin."""
    origin = request.headers.get("origin")
    if origin is not None and origin in cors:
        return
    foreign = request.headers.get("sec-fetch-site") == "cross-site"
    if origin is not None and origin != "null":
        parts = urlsplit(origin)
        foreign = foreign or parts.netloc != request.headers.get("host", "")
    elif origin == "null":
        foreign = True
    if foreign:
        raise RequestError(
            403,
            "security_exception",
            f"{request.url.path}: refused a call from another site ({origin or 'cross-site'}); "
            "open the workbench from this server, or list that origin in serve's CORS origins",
        )


def _text(body: dict[str, Any], name: str, default: str | None) -> str:
    value = body.get(name, default)
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"[{name}] must be a non-empty string")
    return value


def _count(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise bad_request(f"[{name}] must be a whole number from 1 to 1000, got [{value}]")
    return value


def _object(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name) or {}
    if not isinstance(value, dict):
        raise bad_request(f"[{name}] must be an object")
    return value
