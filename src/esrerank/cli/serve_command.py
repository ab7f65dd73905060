"""``esrerank serve``: the HTTP server (esrerank.serve), with the models loaded before it
listens."""

from __future__ import annotations

import ipaddress
import logging

import click

from ..models.hub import DEFAULT_CROSS_ENCODER
from ..models.score_memory import DEFAULT_PAIRS
from .app import cli
from .options import open_searcher, reranker_option, store_options


@cli.command()
@store_options
@reranker_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--server-api-key",
    envvar="ESRERANK_SERVER_API_KEY",
    show_envvar=True,
    default=None,
    help="Key every request must carry (Authorization: Bearer KEY); required to listen on "
    "anything but loopback.",
)
@click.option(
    "--rerank-queue",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Requests that may wait for the cross-encoder; more get 429 with Retry-After.",
)
@click.option(
    "--rerank-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds one rerank may take [default: no limit].",
)
@click.option(
    "--rerank-memory",
    type=click.IntRange(min=0),
    default=DEFAULT_PAIRS,
    show_default=True,
    metavar="PAIRS",
    help="Cross-encoder scores kept in memory, so a search that comes again (page 2, a facet, "
    "a popular query) does not run the same pairs again; 0 keeps none.",
)
@click.option(
    "--mode",
    type=click.Choice(["hybrid", "rerank"]),
    default="hybrid",
    show_default=True,
    help="How searches are answered: hybrid (dense hits may join the application's own) or "
    "rerank (the application's own hits only, reordered); ?esrerank_mode= picks per request.",
)
@click.option(
    "--index-mode",
    "index_modes",
    multiple=True,
    metavar="INDEX=MODE",
    help="The mode for one index (repeatable), e.g. --index-mode products=rerank.",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Let browser pages on ORIGIN (e.g. http://localhost:3000, or *) query serve "
    "(repeatable) [default: CORS off].",
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(min=0),
    default=30,
    show_default=True,
    metavar="SECONDS",
    help="On SIGTERM or Ctrl-C, serve stops accepting connections at once and finishes the "
    "requests in flight for up to this long; then it drops the rest (a model call already "
    "running ends first) and exits.",
)
def serve(
    url,
    index,
    data_dir,
    bi_encoder,
    progress,
    reranker,
    host,
    port,
    server_api_key,
    rerank_queue,
    rerank_timeout,
    rerank_memory,
    mode,
    index_modes,
    cors_origins,
    shutdown_timeout,
):
    """Serve an application's relevance searches (_search, _msearch) hybrid and reranked, each
    answered as the engine would with its hits reordered (every other request goes to the
    cluster unchanged), the rerank and embed APIs (Cohere /v1/rerank and /v2/rerank, TEI
    /rerank and /embed) and /healthz, with the models loaded once."""
    try:
        import uvicorn

        from ..serve.app import Limits, build_app
        from ..serve.proxy import Proxy
        from ..serve.workbench import PAGE_PATH
    except ImportError:
        raise click.UsageError("serve needs its extra: pip install 'esrerank[serve]'") from None
    if not server_api_key and not _loopback(host):
        raise click.UsageError(
            f"--host {host} is reachable from other machines: set --server-api-key "
            "(or ESRERANK_SERVER_API_KEY), or listen on 127.0.0.1."
        )
    modes = dict(_index_mode(value) for value in index_modes)
    searcher = open_searcher(
        url, index, data_dir, bi_encoder, reranker or DEFAULT_CROSS_ENCODER, rerank_memory
    )
    with searcher:
        searcher.warm_up()
        client = getattr(searcher.backend, "client", None)  # None: the embedded store
        proxy = Proxy(client.cluster) if client is not None else None
        limits = Limits(rerank_queue, rerank_timeout)
        app = build_app(searcher, server_api_key, limits, proxy, mode, modes, tuple(cors_origins))
        logging.getLogger("esrerank.serve").setLevel(logging.INFO)
        click.echo(f"serving on http://{host}:{port}", err=True)
        click.echo(f"the workbench: http://{host}:{port}{PAGE_PATH}/", err=True)
        # Passed-on answers keep the engine's headers: uvicorn adds no Server or Date header.
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=shutdown_timeout,
        )


def _index_mode(value: str) -> tuple[str, str]:
    index, _, mode = value.partition("=")
    if not index or mode not in ("hybrid", "rerank"):
        raise click.BadParameter(
            f"'{value}' is not INDEX=MODE with MODE hybrid or rerank", param_hint="--index-mode"
        )
    return index, mode


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
