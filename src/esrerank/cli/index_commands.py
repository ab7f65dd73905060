"""``esrerank ingest``, ``reembed`` and ``query``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ..backends import Shards
from ..config import (
    DEFAULT_RERANK_WEIGHT,
    DEFAULT_TOP_K,
)
from ..corpus import FORMATS, ChunkSpec, Fields
from ..errors import PartialAnswerError
from ..fusion import COMBINATIONS, METHODS, FusionSpec
from ..indexing.attach import PASSAGES
from ..models.hub import DEFAULT_CROSS_ENCODER
from . import render
from .app import cli
from .options import (
    analyzer_option,
    as_usage_error,
    candidates_option,
    chunk_options,
    embed_batch_option,
    location_of,
    open_searcher,
    parse_weights,
    report_ingest,
    rerank_depth_option,
    reranker_option,
    show_progress,
    store_options,
    store_options_with,
)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@store_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="auto",
    show_default=True,
    help="Corpus layout: JSON array, JSONL, wiki dump keyed by id, BEIR corpus.jsonl.",
)
@click.option(
    "--id-field",
    default=None,
    help="Field holding the document id [default: _id, id, "
    "doc_id or document_id; a wiki dump's key].",
)
@click.option("--title-field", default="title", show_default=True)
@click.option("--text-field", default="text", show_default=True)
@click.option(
    "--keep-fields",
    default="all",
    show_default=True,
    help="The documents' other fields kept with each passage, to filter on and return with "
    "hits: all, none, or a comma-separated list of names.",
)
@chunk_options
@analyzer_option
@embed_batch_option
@click.option("--recreate", is_flag=True, help="Delete the index first and rebuild it.")
@click.option(
    "--sync",
    is_flag=True,
    help="Also remove documents the index holds that FILE no longer has (counted as removed=).",
)
@click.option(
    "--shards",
    type=click.IntRange(min=1),
    envvar="ESRERANK_SHARDS",
    show_envvar=True,
    default=None,
    help="Primary shards of a new index on a cluster [default: the cluster's, 1 unless an "
    "index template says otherwise].",
)
@click.option(
    "--replicas",
    type=click.IntRange(min=0),
    envvar="ESRERANK_REPLICAS",
    show_envvar=True,
    default=None,
    help="Replicas of each shard of a new index [default: 1 when the cluster has a second "
    "node, else 0].",
)
@click.pass_context
def ingest(
    ctx,
    file,
    url,
    index,
    data_dir,
    bi_encoder,
    progress,
    fmt,
    id_field,
    title_field,
    text_field,
    keep_fields,
    chunk_size,
    chunk_overlap,
    analyzer,
    batch_size,
    recreate,
    sync,
    shards,
    replicas,
):
    """Read FILE, chunk it into passages, embed them and upsert them into the index.

    Re-ingesting a changed file re-embeds only what changed; documents dropped from the file stay
    in the index unless --sync is given (other files may have put them there)."""
    chunking = as_usage_error(lambda: ChunkSpec(chunk_size, chunk_overlap))
    searcher = open_searcher(url, index, data_dir, bi_encoder)
    with searcher:
        report = searcher.ingest(
            file,
            fmt=fmt,
            fields=Fields(id_field, title_field, text_field, parse_keep_fields(keep_fields)),
            chunking=chunking,
            analyzer=analyzer,
            batch_size=batch_size,
            recreate=recreate,
            sync=sync,
            progress=show_progress(progress),
            shards=Shards(shards, replicas),
        )
    report_ingest(
        report, f"{location_of(searcher)} index '{index}', bi-encoder {searcher.encoder.label}: "
    )


@cli.command()
@store_options_with(None, "The existing index (or alias) to attach.")
@click.option("--text-field", required=True, help="The documents' text field (BM25, embedded).")
@click.option("--title-field", default=None, help="A title field, embedded with the text.")
@click.option(
    "--passages",
    type=click.Choice(PASSAGES),
    default="all",
    show_default=True,
    help="Which passages of a document get a vector: all (nested; the best scores the "
    "document) or the first.",
)
@chunk_options
@click.option(
    "--reindex",
    is_flag=True,
    help="OpenSearch without index.knn: copy the index into one with it (writes to it are "
    "refused during the copy), which then takes its name.",
)
@click.option(
    "--follow",
    type=click.FloatRange(min=1),
    default=None,
    metavar="SECONDS",
    help="After the run, look every SECONDS for documents the application adds, and embed "
    "them, until Ctrl-C (texts changed later are found by the next full run).",
)
@embed_batch_option
def attach(
    url,
    index,
    data_dir,
    bi_encoder,
    progress,
    text_field,
    title_field,
    passages,
    chunk_size,
    chunk_overlap,
    reindex,
    follow,
    batch_size,
):
    """Make an existing index searchable: add a vector field and embed its documents, keeping
    their ids, fields and analyzers.

    Run it again after the application writes more: it embeds only documents with no vector or
    whose text changed. A run stopped anywhere picks up where it was."""
    if not index:
        raise click.UsageError("attach needs --index: the existing index to attach.")
    chunking = as_usage_error(lambda: ChunkSpec(chunk_size, chunk_overlap))
    searcher = open_searcher(url, index, data_dir, bi_encoder)
    options = dict(passages=passages, reindex=reindex, chunking=chunking, batch_size=batch_size)
    with searcher:
        report = searcher.attach(
            text_field, title_field, progress=show_progress(progress), **options
        )
        prefix = f"{location_of(searcher)} index '{index}', bi-encoder {searcher.encoder.label}: "
        report_ingest(report, prefix)  # exits 1 when a document failed
        while follow is not None:  # until Ctrl-C
            time.sleep(follow)
            report = searcher.attach(text_field, title_field, only_new=True, **options)
            if report.documents:
                click.echo(f"{time.strftime('%H:%M:%S')} {report.summary()}")


@cli.command()
@store_options
@embed_batch_option
def reembed(url, index, data_dir, bi_encoder, progress, batch_size):
    """Rebuild the index's embeddings with --bi-encoder (e.g. one 'train --encoder bi' wrote).

    The documents are read back from the index itself; no corpus file is needed."""
    if bi_encoder is None:
        raise click.UsageError("reembed needs --bi-encoder: the model to rebuild the index with.")
    searcher = open_searcher(url, index, data_dir, None)
    with searcher:
        old = searcher.backend.get_meta(index).model
        report = searcher.reembed(
            bi_encoder, batch_size=batch_size, progress=show_progress(progress)
        )
    report_ingest(
        report,
        f"{location_of(searcher)} index '{index}': re-embedded with {bi_encoder} (was {old}): ",
    )


@cli.command()
@click.argument("text")
@store_options
@click.option(
    "--top-k",
    type=click.IntRange(min=1),
    default=DEFAULT_TOP_K,
    show_default=True,
    help="Hits to return.",
)
@candidates_option
@rerank_depth_option
@click.option(
    "--fusion",
    type=click.Choice(METHODS),
    default=None,
    help="Per-leg normalization, or rrf [default: the index's tuned setting, else min_max].",
)
@click.option(
    "--combination",
    type=click.Choice(list(COMBINATIONS)),
    default=None,
    help="How normalized scores combine [default: arithmetic]; not with rrf.",
)
@click.option("--weights", default=None, help="BM25,dense weights [default: 0.5,0.5].")
@click.option(
    "--rrf-k", type=float, default=None, help="RRF constant [default: 60]; only with rrf."
)
@reranker_option
@click.option("--no-rerank", is_flag=True, help="Skip the cross-encoder; return the fused order.")
@click.option(
    "--rerank-timeout",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds after which reranking gives up and the fused order is returned.",
)
@click.option(
    "--rerank-weight",
    type=click.FloatRange(0, 1),
    envvar="ESRERANK_RERANK_WEIGHT",
    show_envvar=True,
    default=None,
    help="The cross-encoder's share of a reranked passage's final score, the fused score's "
    "being the rest (both min_max over the pool); 0 skips the cross-encoder [default: the "
    f"weight 'eval --tune' stored for this reranker, else {DEFAULT_RERANK_WEIGHT:g}].",
)
@click.option(
    "--filter",
    "filter_json",
    default=None,
    metavar="JSON",
    help="Query DSL filter clause(s) that both legs apply, e.g. "
    '\'{"term": {"category": "news"}}\' or a list of clauses; the embedded store takes term, '
    "terms, range, exists and bool.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--explain", is_flag=True, help="Show how the final order came about.")
@click.option(
    "--strict",
    is_flag=True,
    help="Fail (exit 1) when the engine's answer is partial (failed shards, a timeout) instead "
    "of warning.",
)
def query(
    text,
    url,
    index,
    data_dir,
    bi_encoder,
    progress,
    top_k,
    candidates,
    rerank_depth,
    fusion,
    combination,
    weights,
    rrf_k,
    reranker,
    no_rerank,
    rerank_timeout,
    rerank_weight,
    filter_json,
    as_json,
    explain,
    strict,
):
    """Search the index for TEXT: BM25 + kNN, fused, reranked, top k with every stage's score."""
    if fusion == "rrf" and combination is not None:
        raise click.UsageError("--combination does not apply to --fusion rrf.")
    if fusion != "rrf" and rrf_k is not None:
        raise click.UsageError("--rrf-k applies only to --fusion rrf.")
    if no_rerank and reranker is not None:
        raise click.UsageError("--reranker and --no-rerank contradict each other.")
    spec = None  # the index's stored setting, else the default
    if any(value is not None for value in (fusion, combination, weights, rrf_k)):
        given = {
            "method": fusion,
            "combination": combination,
            "weights": parse_weights(weights) if weights else None,
            "rrf_k": rrf_k,
        }
        spec = as_usage_error(
            lambda: FusionSpec(**{name: v for name, v in given.items() if v is not None})
        )
    searcher = open_searcher(url, index, data_dir, bi_encoder, reranker or DEFAULT_CROSS_ENCODER)
    with searcher:
        result = searcher.search(
            text,
            top_k=top_k,
            candidates=candidates,
            rerank_depth=rerank_depth,
            fusion=spec,
            rerank=not no_rerank,
            rerank_timeout=rerank_timeout,
            rerank_weight=rerank_weight,
            filter=parse_filter(filter_json),
        )
    if strict and result.warnings:
        raise PartialAnswerError(f"{result.warnings[0]} (--strict)")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        payload = result.to_dict()
        payload["backend"] = {
            "engine": searcher.backend.engine,
            "location": searcher.backend.location,
            "index": index,
        }
        if explain:
            payload["explanation"] = render.explain(result)
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    click.echo(render.header(result, f"{location_of(searcher)} index '{index}'"))
    click.echo(render.table(result))
    if explain:
        click.echo("")
        click.echo(render.explain(result))


def parse_keep_fields(value: str) -> tuple[str, ...] | None:
    """``all`` (None: every field), ``none`` (no field) or a comma-separated list of names."""
    if value.strip().lower() == "all":
        return None
    if value.strip().lower() == "none":
        return ()
    return tuple(name.strip() for name in value.split(",") if name.strip())


def parse_filter(text: str | None):
    """The ``--filter`` JSON, parsed (checked further by the search)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"not valid JSON ({exc.msg} at character {exc.pos}); write a clause such as "
            '\'{"term": {"category": "news"}}\'',
            param_hint="--filter",
        ) from None
