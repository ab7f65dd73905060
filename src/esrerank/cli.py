"""The ``esrerank`` command line: ingest, query and train.

Options come from flags, then ``ESRERANK_*`` environment variables, then the config file
(``esrerank.toml``), then defaults. Library errors print as one line and exit 1; bad flags exit 2.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from . import render
from .analysis import ANALYZERS
from .cli_errors import for_command_line
from .config import (
    DEFAULT_CANDIDATES,
    DEFAULT_INDEX,
    DEFAULT_RERANK_DEPTH,
    DEFAULT_RERANK_WEIGHT,
    DEFAULT_TOP_K,
    cache_dir,
    default_data_dir,
    load_config,
)
from .corpus import FORMATS, ChunkSpec, Fields
from .errors import ConfigError, EsrerankError, PartialAnswerError
from .evaluation.strategies import DEFAULT_STRATEGIES
from .fusion import COMBINATIONS, METHODS, FusionSpec
from .models import DEFAULT_BI_ENCODER, DEFAULT_CROSS_ENCODER, MULTILINGUAL_BI_ENCODER
from .runtimes import AUTO, BACKENDS, PRECISION_NAMES, Runtime, missing_packages
from .training.cross import LOSSES

log = logging.getLogger("esrerank")


def _store_options_with(index_default: str | None = DEFAULT_INDEX, index_help: str = "Index name."):
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
            _runtime_option(
                "--backend",
                [AUTO, *BACKENDS],
                "Where the bi-encoder and the reranker run: auto = the fastest route that keeps "
                "fp32's results (openvino; torch when openvino is not installed).",
            ),
            _runtime_option(
                "--precision",
                [AUTO, *PRECISION_NAMES],
                "Precision: fp32, bf16 (torch, openvino) or int8 (onnx, openvino); auto = fp32 "
                "for the reranker, bf16 for the bi-encoder where the backend has it.",
            ),
            click.option(
                "--progress/--no-progress",
                default=None,
                help="Progress bars [default: on when stderr is a terminal].",
            ),
        ]
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _runtime_option(flag: str, choices: list[str], help: str):
    """``--backend`` / ``--precision``: kept in the context for ``_searcher``, since they apply
    to every command alike."""

    def remember(ctx: click.Context, param: click.Parameter, value):
        ctx.meta[param.name] = value
        return value

    return click.option(
        flag,
        type=click.Choice(choices),
        envvar=f"ESRERANK_{flag[2:].upper()}",
        show_envvar=True,
        default=AUTO,
        show_default=True,
        expose_value=False,
        callback=remember,
        help=help,
    )


_store_options = _store_options_with()

_analyzer_option = click.option(
    "--analyzer",
    type=click.Choice(list(ANALYZERS)),
    default=None,
    help="BM25 analysis of a new index: standard, or cjk (character bigrams) for Korean, "
    "Chinese and Japanese text [default: the index's own; for a new index, cjk when its corpus "
    "is mostly such text, else standard].",
)

_candidates_option = click.option(
    "--candidates",
    type=click.IntRange(min=1),
    default=DEFAULT_CANDIDATES,
    show_default=True,
    help="Hits each leg (BM25, dense) returns.",
)

_rerank_depth_option = click.option(
    "--rerank-depth",
    type=click.IntRange(min=1),
    default=DEFAULT_RERANK_DEPTH,
    show_default=True,
    help="Top hits the cross-encoder reorders.",
)

_reranker_option = click.option(
    "--reranker",
    envvar="ESRERANK_RERANKER",
    show_envvar=True,
    default=None,
    help=f"Cross-encoder: a model name or local folder [default: {DEFAULT_CROSS_ENCODER}].",
)


_embed_batch_option = click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=32,
    show_default=True,
    help="Passages embedded per batch.",
)


def _file_option(flag: str, dest: str, help: str):
    """An optional path option of ``train``."""
    return click.option(flag, dest, type=click.Path(path_type=Path), default=None, help=help)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ESRERANK_CONFIG",
    default=None,
    help="TOML config file [default: ./esrerank.toml, then ~/.config/esrerank/config.toml].",
)
@click.version_option(package_name="esrerank")
@click.pass_context
def cli(ctx: click.Context, verbose: bool, quiet: bool, config_path: Path | None) -> None:
    """Hybrid BM25 + kNN retrieval with cross-encoder reranking, on Elasticsearch, OpenSearch or
    an embedded on-disk store."""
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    _quiet_libraries(verbose)
    config = load_config(config_path)
    shared = config.pop("__shared__", {})
    ctx.default_map = {
        name: {**shared, **config.get(name, {})}
        for name in ("ingest", "query", "train", "reembed", "eval")
    }
    ctx.obj = {"quiet": quiet}


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@_store_options
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
    "--chunk-size",
    type=click.IntRange(min=1),
    default=ChunkSpec.size,
    show_default=True,
    help="Passage length in bi-encoder tokens.",
)
@click.option(
    "--chunk-overlap",
    type=click.IntRange(min=0),
    default=ChunkSpec.overlap,
    show_default=True,
    help="Tokens shared by consecutive passages.",
)
@_analyzer_option
@_embed_batch_option
@click.option("--recreate", is_flag=True, help="Delete the index first and rebuild it.")
@click.option(
    "--sync",
    is_flag=True,
    help="Also remove documents the index holds that FILE no longer has (counted as removed=).",
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
    chunk_size,
    chunk_overlap,
    analyzer,
    batch_size,
    recreate,
    sync,
):
    """Read FILE, chunk it into passages, embed them and upsert them into the index.

    Re-ingesting a changed file re-embeds only what changed; documents dropped from the file stay
    in the index unless --sync is given (other files may have put them there)."""
    chunking = _usage(lambda: ChunkSpec(chunk_size, chunk_overlap))
    searcher = _searcher(url, index, data_dir, bi_encoder)
    with searcher:
        report = searcher.ingest(
            file,
            fmt=fmt,
            fields=Fields(id_field, title_field, text_field),
            chunking=chunking,
            analyzer=analyzer,
            batch_size=batch_size,
            recreate=recreate,
            sync=sync,
            progress=_progress(progress),
        )
    _report_ingest(
        report, f"{_where(searcher)} index '{index}', bi-encoder {searcher.encoder.label}: "
    )


@cli.command()
@_store_options
@_embed_batch_option
def reembed(url, index, data_dir, bi_encoder, progress, batch_size):
    """Rebuild the index's embeddings with --bi-encoder (e.g. one 'train --encoder bi' wrote).

    The documents are read back from the index itself; no corpus file is needed."""
    if bi_encoder is None:
        raise click.UsageError("reembed needs --bi-encoder: the model to rebuild the index with.")
    searcher = _searcher(url, index, data_dir, None)
    with searcher:
        old = searcher.backend.get_meta(index).model
        report = searcher.reembed(bi_encoder, batch_size=batch_size, progress=_progress(progress))
    _report_ingest(
        report, f"{_where(searcher)} index '{index}': re-embedded with {bi_encoder} (was {old}): "
    )


@cli.command()
@click.argument("text")
@_store_options
@click.option(
    "--top-k",
    type=click.IntRange(min=1),
    default=DEFAULT_TOP_K,
    show_default=True,
    help="Hits to return.",
)
@_candidates_option
@_rerank_depth_option
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
@_reranker_option
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
        spec = _usage(
            lambda: FusionSpec(
                fusion or "min_max",
                combination or "arithmetic",
                _weights(weights or "0.5,0.5"),
                rrf_k if rrf_k is not None else 60.0,
            )
        )
    searcher = _searcher(url, index, data_dir, bi_encoder, reranker or DEFAULT_CROSS_ENCODER)
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
    click.echo(render.header(result, f"{_where(searcher)} index '{index}'"))
    click.echo(render.table(result))
    if explain:
        click.echo("")
        click.echo(render.explain(result))


@cli.command()
@click.option(
    "--encoder",
    type=click.Choice(["cross", "bi"]),
    required=True,
    help="What to train: the cross-encoder (reranker or similarity scorer) or the bi-encoder.",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the model; 'query --reranker' / '--bi-encoder' accept it.",
)
@_file_option(
    "--beir",
    "beir_dir",
    "BEIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv); its corpus must be in --index.",
)
@click.option("--split", default="train", show_default=True, help="Qrels split of --beir.")
@_file_option(
    "--queries",
    "queries_file",
    "Queries JSONL ({_id, text}); with --qrels, pairs are mined from --index.",
)
@_file_option(
    "--qrels", "qrels_file", "Qrels TSV (query-id, corpus-id, score) naming documents in --index."
)
@_file_option(
    "--pairs",
    "pairs_file",
    'JSONL of {"query", "passage", "label"} pairs or {"query", "positive", "negative"} triples.',
)
@_file_option(
    "--sts", "sts_file", "CSV of scored pairs sentence1,sentence2,score (cross-encoder only)."
)
@_file_option(
    "--dev",
    "dev_file",
    "Dev split in the training data's format (qrels TSV, pairs JSONL or CSV) "
    "[default: qrels/dev.tsv of --beir, else --dev-fraction of the training data].",
)
@click.option(
    "--dev-fraction",
    type=click.FloatRange(0, 0.9),
    default=0.1,
    show_default=True,
    help="Share of the training data held out for dev when no --dev is given; 0 = no dev.",
)
@click.option(
    "--loss",
    type=click.Choice(LOSSES),
    default="listwise",
    show_default=True,
    help="Reranker loss: softmax over a positive and its negatives, or per-pair BCE.",
)
@click.option(
    "--negatives",
    type=click.IntRange(min=0),
    default=None,
    help="Hard negatives per positive [default: 7 for cross, 1 for bi].",
)
@click.option(
    "--mine",
    "mine_from",
    default="bm25,dense",
    show_default=True,
    help="Where hard negatives come from: bm25, dense, or both (fused).",
)
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Hits per source to mine negatives from (and for dev queries to rank).",
)
@click.option(
    "--score-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    help="Highest score in --sts data; scores are divided by it.",
)
@_store_options
@click.option(
    "--base",
    default=DEFAULT_BI_ENCODER,
    show_default=True,
    help="Model to start from: a name or a local sentence-transformers / Hugging Face folder.",
)
@click.option("--epochs", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Pairs per step (bce, --sts), or queries per step (listwise, bi).",
)
@click.option("--max-length", type=click.IntRange(min=8), default=256, show_default=True)
@click.option("--learning-rate", type=float, default=2e-5, show_default=True)
@click.option("--warmup", type=click.FloatRange(0, 1), default=0.1, show_default=True)
@click.option(
    "--eval-steps",
    type=click.IntRange(min=1),
    default=None,
    help="Evaluate on dev every N steps as well as after each epoch.",
)
@click.option("--seed", type=int, default=13, show_default=True)
def train(
    encoder,
    output,
    beir_dir,
    split,
    queries_file,
    qrels_file,
    pairs_file,
    sts_file,
    dev_file,
    dev_fraction,
    loss,
    negatives,
    mine_from,
    depth,
    score_scale,
    url,
    index,
    data_dir,
    bi_encoder,
    progress,
    base,
    epochs,
    batch_size,
    max_length,
    learning_rate,
    warmup,
    eval_steps,
    seed,
):
    """Train a cross-encoder or a bi-encoder; the best checkpoint on dev is kept in OUTPUT."""
    from . import training

    missing = missing_packages("torch", "fp32")
    if missing:
        raise ConfigError(
            f"Training needs {' and '.join(missing)}, which is not installed: "
            "pip install 'esrerank[train]'."
        )

    given = [
        name
        for name, value in (
            ("--beir", beir_dir),
            ("--queries/--qrels", queries_file or qrels_file),
            ("--pairs", pairs_file),
            ("--sts", sts_file),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise click.UsageError(
            "Give exactly one source of training data: --beir, --queries with --qrels, "
            f"--pairs or --sts (got {', '.join(given) or 'none'})."
        )
    if (queries_file is None) != (qrels_file is None):
        raise click.UsageError("--queries and --qrels go together.")
    if sts_file is not None and encoder == "bi":
        raise click.UsageError("--sts trains a cross-encoder; use --encoder cross.")
    sources = tuple(s.strip() for s in mine_from.split(",") if s.strip())
    if not sources or set(sources) - set(training.SOURCES):
        raise click.UsageError(f"--mine takes bm25, dense or both, not '{mine_from}'.")
    settings = training.Settings(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        warmup=warmup,
        seed=seed,
        eval_steps=eval_steps,
        progress=_progress(progress),
    )
    held = {"dev_fraction": dev_fraction, "seed": seed}
    if sts_file is not None:
        pairs, dev = training.from_scored_pairs(
            sts_file, dev_file=dev_file, scale=score_scale, **held
        )
        report = training.train_similarity(
            pairs, output, dev=dev, base=base, max_length=max_length, settings=settings
        )
        click.echo(report.summary())
        return
    if pairs_file is not None:
        groups, dev = training.from_relevance_file(pairs_file, dev_file=dev_file, **held)
    else:
        if beir_dir is not None:
            _, queries_file, qrels_file, beir_dev = training.beir_files(beir_dir, split)
            dev_file = dev_file or beir_dev
        with _searcher(url, index, data_dir, bi_encoder) as searcher:
            groups, dev = training.from_qrels(
                searcher.backend,
                index,
                queries_file,
                qrels_file,
                dev_qrels_file=dev_file,
                encoder=searcher.encoder if "dense" in sources else None,
                sources=sources,
                depth=depth,
                progress=_progress(progress),
                **held,
            )
    options = {"dev": dev, "base": base, "max_length": max_length, "settings": settings}
    if negatives is not None:  # else the library's default for the encoder
        options["negatives"] = negatives
    if encoder == "bi":
        report = training.train_bi_encoder(groups, output, **options)
    else:
        report = training.train_reranker(groups, output, loss=loss, **options)
    click.echo(report.summary())


@cli.command("eval")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--split", default="test", show_default=True, help="Qrels split to report on.")
@_file_option(
    "--corpus", "corpus_file", "Corpus file [default: corpus.jsonl or wiki.json in FOLDER]."
)
@_store_options_with(None, "Index name [default: FOLDER's name]; ingested first if missing.")
@_analyzer_option
@click.option(
    "--strategies",
    default=",".join(DEFAULT_STRATEGIES),
    show_default=True,
    help="Comma-separated strategies to compare.",
)
@click.option("--no-rerank", is_flag=True, help="Leave out the strategies that rerank.")
@_reranker_option
@_candidates_option
@_rerank_depth_option
@click.option(
    "--max-queries",
    type=click.IntRange(min=1),
    default=None,
    help="Evaluate a seeded random sample of this many queries (for quick runs).",
)
@click.option(
    "--tune",
    is_flag=True,
    help="Choose the fusion (normalization, combination, weights, RRF k) on tuning queries, "
    "store it with the index for 'query', and report it on the split.",
)
@click.option(
    "--tune-split",
    default=None,
    help="Qrels split to tune on [default: dev if FOLDER has one, else --tune-fraction of "
    "--split held out].",
)
@click.option(
    "--tune-fraction",
    type=click.FloatRange(0.05, 0.95),
    default=0.5,
    show_default=True,
    help="Share of --split's queries held out for tuning when there is no tuning split.",
)
@click.option("--seed", type=int, default=13, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write OUT.md, OUT.json and OUT.png (top-k accuracy plot).",
)
@click.option(
    "--cache",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Cross-encoder score cache [default: DATA_DIR/cache/rerank-scores.sqlite].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def eval_command(
    folder,
    split,
    corpus_file,
    url,
    index,
    data_dir,
    bi_encoder,
    progress,
    analyzer,
    strategies,
    no_rerank,
    reranker,
    candidates,
    rerank_depth,
    max_queries,
    tune,
    tune_split,
    tune_fraction,
    seed,
    out,
    cache,
    as_json,
):
    """Compare retrieval strategies on FOLDER's judged queries (BEIR layout, or wiki.json with
    queries.jsonl and qrels/): top-k accuracy, Recall@k, MRR@10 and nDCG@10 per document."""
    from . import evaluation

    if no_rerank and reranker is not None:
        raise click.UsageError("--reranker and --no-rerank contradict each other.")
    if tune_split and not tune:
        raise click.UsageError("--tune-split applies only with --tune.")
    if tune_split is not None and tune_split == split:
        raise click.UsageError("--tune-split must differ from --split.")
    evaluation.require_eval_extra()
    chosen = _usage(
        lambda: evaluation.check_strategies([s.strip() for s in strategies.split(",") if s.strip()])
    )
    if no_rerank:
        chosen = [s for s in chosen if s not in evaluation.RERANKED]
    data, tune_on = evaluation.reporting_and_tuning_queries(
        folder,
        split,
        corpus=corpus_file,
        tune=tune,
        tune_split=tune_split,
        tune_fraction=tune_fraction,
        seed=seed,
    )
    if max_queries is not None and max_queries < len(data.queries):
        data = data.sample(max_queries, seed)
    index = index or evaluation.index_name_for(data)
    searcher = _searcher(url, index, data_dir, bi_encoder, reranker or DEFAULT_CROSS_ENCODER)
    with searcher:
        report = evaluation.ensure_index(searcher, data, analyzer, _progress(progress))
        if report is not None:
            for note in report.notes:
                click.echo(f"note: {note}", err=True)
            click.echo(f"{_where(searcher)} index '{index}': {report.summary()}", err=True)
        result = evaluation.evaluate(
            searcher,
            data,
            chosen,
            candidates=candidates,
            depth=rerank_depth,
            cache_path=cache or cache_dir(data_dir) / "rerank-scores.sqlite",
            tune_on=tune_on,
            progress=_progress(progress),
        )
    command = "esrerank eval " + " ".join(_quote(arg) for arg in sys.argv[2:])
    if out is not None:
        for path in evaluation.write(result, out, command):
            click.echo(f"wrote {path}", err=True)
    if as_json:
        click.echo(json.dumps({"command": command, **result.to_dict()}, indent=2))
    else:
        click.echo(evaluation.markdown(result))


def _quote(arg: str) -> str:
    return f"'{arg}'" if any(c in arg for c in " ,;&|") else arg


def _searcher(url, index, data_dir, bi_encoder, reranker=DEFAULT_CROSS_ENCODER):
    from .pipeline import Searcher

    options = click.get_current_context().meta
    runtime = _usage(lambda: Runtime(options.get("backend", AUTO), options.get("precision", AUTO)))
    return Searcher(
        url or None,
        index,
        data_dir=data_dir,
        bi_encoder=bi_encoder,
        reranker=reranker,
        rerank_runtime=runtime,
        bi_encoder_runtime=runtime,
        embedding_cache=cache_dir(data_dir) / "embeddings.sqlite",
    )


def _report_ingest(report, prefix: str) -> None:
    """Notes and the first failures on stderr, the summary line, and exit 1 if anything
    failed."""
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    for failure in report.failures[:10]:
        click.echo(f"failed: {failure}", err=True)
    click.echo(prefix + report.summary())
    if report.failed:
        sys.exit(1)


def _where(searcher) -> str:
    backend = searcher.backend
    return f"{backend.engine} {backend.version} ({backend.location})"


def _weights(text: str) -> tuple[float, float]:
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 2:
        raise click.BadParameter(
            f"expected two numbers like 0.5,0.5, got '{text}'.", param_hint="--weights"
        )
    return values


def _usage(build):
    """Build an option object; its ConfigError is a usage error (exit 2)."""
    try:
        return build()
    except ConfigError as exc:
        raise click.UsageError(for_command_line(exc)) from exc


def _progress(flag: bool | None) -> bool:
    return sys.stderr.isatty() if flag is None else flag


def _quiet_libraries(verbose: bool) -> None:
    """Keep model libraries' logs and progress bars out of the output (read by them when they
    are imported, so nothing is imported here: a query that never needs them starts faster)."""
    if verbose:
        return
    import os

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for name in ("transformers", "sentence_transformers", "huggingface_hub", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main() -> None:
    """Entry point: one line per library error (exit 1), click's usage errors (exit 2)."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort as exc:  # click's name for a KeyboardInterrupt
        click.echo(str(exc.__cause__ or "") or "Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except EsrerankError as exc:
        click.echo(f"error: {for_command_line(exc)}", err=True)
        sys.exit(1)
    except KeyboardInterrupt as exc:
        click.echo(str(exc) or "Interrupted.", err=True)
        sys.exit(130)
