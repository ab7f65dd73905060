"""``esrerank judgments``: the relevance judgments given an index's results, listed, exported
to and imported from the BEIR layout, and the index tuned on them (and the tuning undone)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import click

from ..config import cache_dir
from ..errors import ConfigError
from ..models.hub import DEFAULT_CROSS_ENCODER
from .app import cli
from .options import location_of, open_searcher, reranker_option, store_options_with

SPLIT_HELP = "The qrels file's split: FOLDER/qrels/SPLIT.tsv."


@cli.group()
def judgments():
    """Relevance judgments given an index's results (graded in serve's workbench, or
    imported): listed, exported, imported, and tuned on with the guard of 'eval --tune'."""


@judgments.command("list")
@store_options_with()
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
def list_judgments(url, index, data_dir, bi_encoder, progress, as_json):
    """Every judgment, by query."""
    with open_searcher(url, index, data_dir, bi_encoder) as searcher:
        found = searcher.backend.judgments(index).all()
    if as_json:
        rows = [{"query_id": j.query_id, **vars(j)} for j in found]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    by_query = defaultdict(list)
    for judgment in found:
        by_query[judgment.query].append(judgment)
    for query, graded in sorted(by_query.items()):
        click.echo(f"{graded[0].query_id}  {query}")
        for judgment in sorted(graded, key=lambda j: (-j.grade, j.doc_id)):
            click.echo(f"  {judgment.grade}  {judgment.doc_id}")
    click.echo(f"{len(found)} judgments of {len(by_query)} queries in index '{index}'", err=True)


@judgments.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--split", default="test", show_default=True, help=SPLIT_HELP)
@store_options_with()
def export_judgments(folder, split, url, index, data_dir, bi_encoder, progress):
    """Write them to FOLDER as BEIR queries and qrels (queries.jsonl, qrels/SPLIT.tsv)."""
    from ..evaluation.judgments import export_beir

    with open_searcher(url, index, data_dir, bi_encoder) as searcher:
        found = searcher.backend.judgments(index).all()
    for path in export_beir(found, folder, split):
        click.echo(f"wrote {path}", err=True)
    queries = len({j.query_id for j in found})
    click.echo(f"exported {len(found)} judgments of {queries} queries from index '{index}'")


@judgments.command("import")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--split", default="test", show_default=True, help=SPLIT_HELP)
@store_options_with()
def import_judgments(folder, split, url, index, data_dir, bi_encoder, progress):
    """Add FOLDER's BEIR queries and qrels to the index's judgments (a pair judged again takes
    the imported grade)."""
    from ..evaluation.judgments import import_beir

    found = import_beir(folder, split)
    with open_searcher(url, index, data_dir, bi_encoder) as searcher:
        searcher.backend.judgments(index).put(found)
        where = location_of(searcher)
    queries = len({j.query_id for j in found})
    click.echo(f"imported {len(found)} judgments of {queries} queries into {where} index '{index}'")


@judgments.command("tune")
@store_options_with()
@reranker_option
@click.option("--dry-run", is_flag=True, help="Say what the guard would keep; change nothing.")
@click.option("--no-rerank", is_flag=True, help="Tune the fusion only.")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
def tune_judgments(
    url, index, data_dir, bi_encoder, progress, reranker, dry_run, no_rerank, as_json
):
    """Tune the index on its judged queries with the out-of-fold guard of 'eval --tune',
    and store only what the guard kept (undo with 'esrerank judgments undo')."""
    from ..evaluation.judged_tuning import change_summary, tune_on_judgments

    with open_searcher(
        url, index, data_dir, bi_encoder, reranker or DEFAULT_CROSS_ENCODER
    ) as searcher:
        record = tune_on_judgments(
            searcher,
            searcher.backend.judgments(index).all(),
            rerank=not no_rerank,
            apply=not dry_run,
            cache_path=cache_dir(data_dir) / "rerank-scores.sqlite",
        )
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    click.echo(f"{record['queries']} judged queries in index '{index}'")
    if not record["decided"]:
        click.echo(record["why"])
        return
    for change in record["changes"]:
        click.echo(change_summary(change))
    click.echo(
        f"{record['measure']}: "
        + ", ".join(
            f"{name} {m['before']:.3f} -> {m['after']:.3f}"
            for name, m in record["measures"].items()
        )
    )
    if dry_run:
        click.echo("dry run: nothing changed")


@judgments.command("undo")
@store_options_with()
def undo_tuning(url, index, data_dir, bi_encoder, progress):
    """Bring back the index's settings from before its last tuning from judgments."""
    with open_searcher(url, index, data_dir, bi_encoder) as searcher:
        undone = searcher.handle.undo_tuning()
        left = len(searcher.handle.tuning_history())
    if undone is None:
        raise ConfigError(f"Index '{index}' has no tuning from judgments to undo.")
    click.echo(f"undid '{undone['change']}' of {undone['date']} ({left} more to undo)")
