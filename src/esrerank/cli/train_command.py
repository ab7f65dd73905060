"""``esrerank train``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from ..models.hub import DEFAULT_BI_ENCODER
from ..models.runtimes import missing_packages
from ..training.cross import LOSSES
from .app import cli
from .options import (
    file_option,
    open_searcher,
    show_progress,
    store_options,
)


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
@file_option(
    "--beir",
    "beir_dir",
    "BEIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv); its corpus must be in --index.",
)
@click.option("--split", default="train", show_default=True, help="Qrels split of --beir.")
@file_option(
    "--queries",
    "queries_file",
    "Queries JSONL ({_id, text}); with --qrels, pairs are mined from --index.",
)
@file_option(
    "--qrels", "qrels_file", "Qrels TSV (query-id, corpus-id, score) naming documents in --index."
)
@file_option(
    "--pairs",
    "pairs_file",
    'JSONL of {"query", "passage", "label"} pairs or {"query", "positive", "negative"} triples.',
)
@file_option(
    "--sts", "sts_file", "CSV of scored pairs sentence1,sentence2,score (cross-encoder only)."
)
@file_option(
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
@store_options
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
    from .. import training

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
        progress=show_progress(progress),
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
        with open_searcher(url, index, data_dir, bi_encoder) as searcher:
            groups, dev = training.from_qrels(
                searcher.backend,
                index,
                queries_file,
                qrels_file,
                dev_qrels_file=dev_file,
                encoder=searcher.encoder if "dense" in sources else None,
                sources=sources,
                depth=depth,
                progress=show_progress(progress),
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
