"""Options and helpers the commands share."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from ..backends.analysis import ANALYZERS
from ..backends.connection import AWS_SERVICES, Cluster
from ..config import (
    DEFAULT_CANDIDATES,
    DEFAULT_INDEX,
    DEFAULT_RERANK_DEPTH,
    cache_dir,
    default_data_dir,
)
from ..corpus import ChunkSpec
from ..errors import ConfigError
from ..models.hub import DEFAULT_BI_ENCODER, DEFAULT_CROSS_ENCODER, MULTILINGUAL_BI_ENCODER
from ..models.runtimes import AUTO, PRECISION_NAMES, RUNTIME_NAMES, Runtime
from .flag_errors import NOTE_SETTINGS, for_command_line, with_flags

log = logging.getLogger(__name__)


def store_options_with(index_default: str | None = DEFAULT_INDEX, index_help: str = "Index name."):
    """Where the index lives: --url / --index / --data-dir / --bi-encoder, shared by commands."""

    def decorate(command):
        options = [
            click.option(
                "--url",
                envvar="ESRERANK_URL",
                show_envvar=True,
                default=None,
                help="OpenSearch or Elasticsearch URL; empty = the embedded store.",
            ),
            click.option(
                "--index",
                envvar="ESRERANK_INDEX",
                show_envvar=True,
                default=index_default,
                show_default=index_default is not None,
                help=index_help,
            ),
            click.option(
                "--data-dir",
                envvar="ESRERANK_DATA_DIR",
                show_envvar=True,
                type=click.Path(path_type=Path),  # checked by the store, naming the folder
                default=None,
                help=f"Embedded store folder [default: {default_data_dir()}].",
            ),
            click.option(
                "--bi-encoder",
                envvar="ESRERANK_BI_ENCODER",
                show_envvar=True,
                default=None,
                help="Bi-encoder: a model name or a local folder [default: the index's own; for a "
                f"new index {DEFAULT_BI_ENCODER}, or {MULTILINGUAL_BI_ENCODER} for mostly Korean, "
                "Chinese or Japanese text when installed].",
            ),
            runtime_option(
                "--runtime",
                [AUTO, *RUNTIME_NAMES],
                "Where the bi-encoder and the reranker run: auto = the fastest route that keeps "
                "fp32's results (openvino; torch when openvino is not installed).",
            ),
            runtime_option("--backend", [AUTO, *RUNTIME_NAMES], "", deprecated=True),
            runtime_option(
                "--precision",
                [AUTO, *PRECISION_NAMES],
                "Precision: fp32, bf16 (torch, openvino), int8 (onnx, openvino) or "
                "bf16-checked (openvino: the reranker in bf16, with fp32 where bf16's error "
                "could change the final order); auto = bf16-checked for the reranker, bf16 for "
                "the bi-encoder where the runtime has them, else fp32.",
            ),
            click.option(
                "--progress/--no-progress",
                default=None,
                help="Progress bars [default: on when stderr is a terminal].",
            ),
            *CLUSTER_OPTIONS,
        ]
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def runtime_option(flag: str, choices: list[str], help: str, deprecated: bool = False):
    """``--runtime`` / ``--precision``: kept in the context for ``open_searcher``, since they apply
    to every command alike. ``--backend`` (and ``ESRERANK_BACKEND``, ``backend`` in the config
    file) is ``--runtime``'s old name, still read, hidden, with a note."""

    def remember(ctx: click.Context, param: click.Parameter, value):
        if deprecated and value is not None:
            log.warning(
                "--backend (ESRERANK_BACKEND, backend = ... in the config file) is deprecated: "
                "use --runtime (ESRERANK_RUNTIME, runtime = ...)"
            )
            ctx.meta.setdefault("runtime_alias", value)
        elif value is not None:
            ctx.meta[param.name] = value
        return value

    return click.option(
        flag,
        type=click.Choice(choices),
        envvar=f"ESRERANK_{flag[2:].upper()}",
        show_envvar=True,
        default=None if deprecated else AUTO,
        show_default=not deprecated,
        hidden=deprecated,
        expose_value=False,
        callback=remember,
        help=help,
    )


store_options = store_options_with()


def cluster_option(flag: str, help: str, **kwargs):
    """A login or TLS option, kept in the context for ``open_searcher`` (``Cluster``'s field of
    the same name), read from ``ESRERANK_<NAME>`` too."""
    name = flag[2:].replace("-", "_")

    def remember(ctx: click.Context, param: click.Parameter, value):
        if value not in (None, False):
            ctx.meta.setdefault("cluster", {})[name] = value
        return value

    return click.option(
        flag,
        name,
        envvar=f"ESRERANK_{name.upper()}",
        show_envvar=True,
        expose_value=False,
        callback=remember,
        help=help,
        **kwargs,
    )


def _file(help: str):
    return {"type": click.Path(path_type=Path), "help": help}  # checked by Cluster, naming it


CLUSTER_OPTIONS = [
    cluster_option("--user", "User name for basic auth."),
    cluster_option(
        "--password", "Password for basic auth (prefer the environment variable to the flag)."
    ),
    cluster_option("--api-key", "Elasticsearch API key: the encoded key, or id:key."),
    cluster_option("--bearer-token", "Bearer token (OAuth2, JWT)."),
    cluster_option("--cloud-id", "Elastic Cloud deployment's Cloud ID, instead of --url."),
    cluster_option("--ca-certs", **_file("PEM file of the CA to trust [default: the system's].")),
    cluster_option("--client-cert", **_file("PEM client certificate (mutual TLS).")),
    cluster_option("--client-key", **_file("PEM key of the client certificate.")),
    cluster_option(
        "--insecure",
        "Skip TLS certificate checks (a warning says so): for a test cluster only.",
        is_flag=True,
        default=None,
    ),
    cluster_option(
        "--aws-region",
        "Sign requests with AWS SigV4 for this region (Amazon OpenSearch Service or "
        "Serverless), with the standard AWS credential chain.",
    ),
    cluster_option(
        "--aws-service",
        "es = Amazon OpenSearch Service, aoss = OpenSearch Serverless [default: es].",
        type=click.Choice(AWS_SERVICES),
    ),
]

analyzer_option = click.option(
    "--analyzer",
    type=click.Choice(list(ANALYZERS)),
    default=None,
    help="BM25 analysis of a new index: standard, or cjk (character bigrams) for Korean, "
    "Chinese and Japanese text [default: the index's own; for a new index, cjk when its corpus "
    "is mostly such text, else standard].",
)

candidates_option = click.option(
    "--candidates",
    type=click.IntRange(min=1),
    default=DEFAULT_CANDIDATES,
    show_default=True,
    help="Hits each leg (BM25, dense) returns.",
)

rerank_depth_option = click.option(
    "--rerank-depth",
    type=click.IntRange(min=1),
    default=None,
    help="Top fused hits the cross-encoder may reorder [default: the depth 'eval --tune' "
    f"stored with the index, else {DEFAULT_RERANK_DEPTH}].",
)

reranker_option = click.option(
    "--reranker",
    envvar="ESRERANK_RERANKER",
    show_envvar=True,
    default=None,
    help=f"Cross-encoder: a model name or local folder [default: {DEFAULT_CROSS_ENCODER}].",
)


def chunk_options(command):
    """--chunk-size and --chunk-overlap: how documents are cut into passages."""
    command = click.option(
        "--chunk-overlap",
        type=click.IntRange(min=0),
        default=ChunkSpec.overlap,
        show_default=True,
        help="Tokens shared by consecutive passages.",
    )(command)
    return click.option(
        "--chunk-size",
        type=click.IntRange(min=1),
        default=ChunkSpec.size,
        show_default=True,
        help="Passage length in bi-encoder tokens.",
    )(command)


embed_batch_option = click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=32,
    show_default=True,
    help="Passages embedded per batch.",
)


def file_option(flag: str, dest: str, help: str):
    """An optional path option of ``train``."""
    return click.option(flag, dest, type=click.Path(path_type=Path), default=None, help=help)


def shell_quote(arg: str) -> str:
    return f"'{arg}'" if any(c in arg for c in " ,;&|") else arg


def open_searcher(
    url, index, data_dir, bi_encoder, reranker=DEFAULT_CROSS_ENCODER, rerank_memory=0
):
    from ..searcher import Searcher

    options = click.get_current_context().meta
    name = options.get("runtime", AUTO)
    if name == AUTO:  # an explicit --runtime wins over the old --backend
        name = options.get("runtime_alias", AUTO)
    runtime = as_usage_error(lambda: Runtime(name, options.get("precision", AUTO)))
    return Searcher(
        cluster_of(url, options.get("cluster", {})),
        index,
        data_dir=data_dir,
        bi_encoder=bi_encoder,
        reranker=reranker,
        rerank_runtime=runtime,
        bi_encoder_runtime=runtime,
        embedding_cache=cache_dir(data_dir) / "embeddings.sqlite",
        rerank_memory=rerank_memory,
    )


def cluster_of(url: str | None, settings: dict) -> Cluster | None:
    """The cluster the flags name, or None for the embedded store; bad settings are usage
    errors."""
    settings = dict(settings)
    cloud_id = settings.pop("cloud_id", None)
    if url and cloud_id:
        raise click.UsageError("Give --url or --cloud-id, not both.")
    if cloud_id:
        return as_usage_error(lambda: Cluster.from_cloud_id(cloud_id, **settings))
    return as_usage_error(lambda: Cluster(url, **settings)) if url else None


def report_ingest(report, prefix: str) -> None:
    """Notes and the first failures on stderr, the summary line, and exit 1 if anything
    failed."""
    for note in report.notes:
        click.echo(f"note: {with_flags(note, NOTE_SETTINGS)}", err=True)
    for failure in report.failures[:10]:
        click.echo(f"failed: {failure}", err=True)
    click.echo(prefix + report.summary())
    if report.failed:
        sys.exit(1)


def location_of(searcher) -> str:
    backend = searcher.backend
    return f"{backend.engine} {backend.version} ({backend.location})"


def parse_weights(text: str) -> tuple[float, float]:
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 2:
        raise click.BadParameter(
            f"expected two numbers like 0.5,0.5, got '{text}'.", param_hint="--weights"
        )
    return values


def as_usage_error(build):
    """Build an option object; its ConfigError is a usage error (exit 2)."""
    try:
        return build()
    except ConfigError as exc:
        raise click.UsageError(for_command_line(exc)) from exc


def show_progress(flag: bool | None) -> bool:
    return sys.stderr.isatty() if flag is None else flag
