"""``esrerank eval``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..backends.redaction import redact
from ..config import DEFAULT_INDEX, cache_dir
from ..evaluation.strategies import DEFAULT_STRATEGIES
from ..models.hub import DEFAULT_CROSS_ENCODER
from .app import cli
from .options import (
    analyzer_option,
    as_usage_error,
    candidates_option,
    file_option,
    location_of,
    open_searcher,
    rerank_depth_option,
    reranker_option,
    shell_quote,
    show_progress,
    store_options_with,
)


@cli.command("eval")
@click.argument("folder", type=click.Path(path_type=Path), required=False)
@click.option("--split", default="test", show_default=True, help="Qrels split to report on.")
@file_option(
    "--corpus", "corpus_file", "Corpus file [default: corpus.jsonl or wiki.json in FOLDER]."
)
@store_options_with(
    None,
    f"Index name [default: FOLDER's name, or {DEFAULT_INDEX} with --judgments alone]; "
    "ingested first if missing.",
)
@click.option(
    "--judgments",
    "use_judgments",
    is_flag=True,
    help="Use the judgments given the index's results (in the workbench, or imported): "
    "without FOLDER, they are the queries reported on (and with --tune, a share of them is "
    "held out to tune on); with FOLDER and --tune, they are the tuning queries.",
)
@analyzer_option
@click.option(
    "--strategies",
    default=",".join(DEFAULT_STRATEGIES),
    show_default=True,
    help="Comma-separated strategies to compare.",
)
@click.option("--no-rerank", is_flag=True, help="Leave out the strategies that rerank.")
@reranker_option
@candidates_option
@rerank_depth_option
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
    use_judgments,
):
    """Compare retrieval strategies on FOLDER's judged queries (BEIR layout, or wiki.json with
    queries.jsonl and qrels/), or on the judgments given the index (--judgments): top-k
    accuracy, Recall@k, MRR@10 and nDCG@10 per document."""
    from .. import evaluation

    if no_rerank and reranker is not None:
        raise click.UsageError("--reranker and --no-rerank contradict each other.")
    if tune_split and not tune:
        raise click.UsageError("--tune-split applies only with --tune.")
    if tune_split is not None and tune_split == split:
        raise click.UsageError("--tune-split must differ from --split.")
    evaluation.require_eval_extra()
    chosen = as_usage_error(
        lambda: evaluation.check_strategies([s.strip() for s in strategies.split(",") if s.strip()])
    )
    if no_rerank:
        chosen = [s for s in chosen if s not in evaluation.RERANKED]
    if folder is None and not use_judgments:
        raise click.UsageError("Give FOLDER (judged queries in the BEIR layout) or --judgments.")
    if use_judgments and folder is not None and not tune:
        raise click.UsageError("--judgments with FOLDER applies to --tune (its tuning queries).")
    if use_judgments and tune_split:
        raise click.UsageError("--judgments and --tune-split both name the tuning queries.")
    data = tune_on = None
    if folder is None:
        index = index or DEFAULT_INDEX
    else:
        data, tune_on = evaluation.reporting_and_tuning_queries(
            folder,
            split,
            corpus=corpus_file,
            tune=tune and not use_judgments,
            tune_split=tune_split,
            tune_fraction=tune_fraction,
            seed=seed,
        )
        index = index or evaluation.index_name_for(data)
    searcher = open_searcher(url, index, data_dir, bi_encoder, reranker or DEFAULT_CROSS_ENCODER)
    with searcher:
        if use_judgments:
            judged = evaluation.judged_data(searcher.backend.judgments(index).all(), index)
            if data is not None:
                tune_on = judged
            elif tune:
                tune_on, data = judged.held_out(tune_fraction, seed)
            else:
                data = judged
        if max_queries is not None and max_queries < len(data.queries):
            data = data.sample(max_queries, seed)
        report = evaluation.ensure_index(searcher, data, analyzer, show_progress(progress))
        if report is not None:
            for note in report.notes:
                click.echo(f"note: {note}", err=True)
            click.echo(f"{location_of(searcher)} index '{index}': {report.summary()}", err=True)
        result = evaluation.evaluate(
            searcher,
            data,
            chosen,
            candidates=candidates,
            depth=rerank_depth,
            cache_path=cache or cache_dir(data_dir) / "rerank-scores.sqlite",
            tune_on=tune_on,
            progress=show_progress(progress),
        )
    # the command as run, for the report: secrets given as flags (or in the URL) masked
    command = redact("esrerank eval " + " ".join(shell_quote(arg) for arg in sys.argv[2:]))
    if out is not None:
        for path in evaluation.write(result, out, command):
            click.echo(f"wrote {path}", err=True)
    if as_json:
        click.echo(json.dumps({"command": command, **result.to_dict()}, indent=2))
    else:
        click.echo(evaluation.markdown(result))
