"""``esrerank judgments``: the relevance judgments given an index's results, listed, exported
to and imported from the BEIR layout."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import click

from .app import cli
from .options import location_of, open_searcher, store_options_with

SPLIT_HELP = "The qrels file's split: FOLDER/qrels/SPLIT.tsv."


@cli.group()
def judgments():
    """Relevance judgments given an index's results (graded in serve's workbench, or
    imported): what 'eval --judgments' measures and tunes on."""


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
