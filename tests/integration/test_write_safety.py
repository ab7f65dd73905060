"""Writes that stay safe on the embedded store: one writer per index, an interrupted ingest that
says what it stored and resumes, and data folders that cannot be written."""

from __future__ import annotations

import os
import threading

import pytest

from esrerank import ChunkSpec, Searcher
from esrerank.backends import IndexMeta
from esrerank.errors import BackendError, IndexBusyError, IngestInterrupted
from esrerank.models.bi_encoder import BiEncoder
from tests.cli import run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SMALL = ChunkSpec(size=64, overlap=16)


@pytest.fixture
def corpus(sample_corpus):
    """150 SciFact abstracts: three ingest batches."""
    return sample_corpus(150)


class InterruptedEncoder(BiEncoder):
    """The real bi-encoder, with Ctrl-C arriving during its ``calls + 1``-th passage batch."""

    def __init__(self, memo: BiEncoder, calls: int) -> None:
        self.__dict__.update(memo.__dict__)
        self._inner, self._left = memo, calls

    def encode(self, texts, batch_size=32):
        if self._left == 0:
            raise KeyboardInterrupt
        self._left -= 1
        return self._inner.encode(texts, batch_size)


def test_a_second_writer_is_refused_with_the_holder_named(bi_encoder, corpus, tmp_path):
    store = tmp_path / "store"
    first = Searcher(None, "locked", data_dir=store, bi_encoder=bi_encoder)
    holding, release = threading.Event(), threading.Event()

    def hold():
        with first.backend.writer("locked"):
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(30)
        second = Searcher(None, "locked", data_dir=store, bi_encoder=bi_encoder)
        with pytest.raises(IndexBusyError, match=rf"being written by process {os.getpid()} on "):
            second.ingest(corpus, chunking=SMALL)
        assert not second.backend.index_exists("locked")  # nothing was started
    finally:
        release.set()
        holder.join()
    report = second.ingest(corpus, chunking=SMALL)  # the lock is free again
    assert report.failed == 0 and second.count() == report.passages


def test_ctrl_c_before_the_first_batch_leaves_no_index(bi_encoder, corpus, tmp_path):
    searcher = Searcher(
        None, "early", data_dir=tmp_path / "store", bi_encoder=InterruptedEncoder(bi_encoder, 0)
    )
    with pytest.raises(IngestInterrupted, match="before the first batch was stored; index 'early'"):
        searcher.ingest(corpus, chunking=SMALL)
    assert not searcher.backend.index_exists("early")


def test_ctrl_c_mid_ingest_says_what_is_stored_and_a_rerun_completes(bi_encoder, corpus, tmp_path):
    clean = Searcher(None, "clean", data_dir=tmp_path / "store", bi_encoder=bi_encoder)
    expected = clean.ingest(corpus, chunking=SMALL)
    searcher = Searcher(
        None, "late", data_dir=tmp_path / "store", bi_encoder=InterruptedEncoder(bi_encoder, 1)
    )
    with pytest.raises(IngestInterrupted) as interrupted:
        searcher.ingest(corpus, chunking=SMALL)
    message = str(interrupted.value)
    assert message.startswith("Interrupted: 64 of 150 documents (") and "resume" in message
    stored = searcher.count()
    assert 0 < stored < expected.passages

    resumed = Searcher(None, "late", data_dir=tmp_path / "store", bi_encoder=bi_encoder)
    report = resumed.ingest(corpus, chunking=SMALL)
    assert report.unchanged == stored and report.indexed == expected.passages - stored
    passages = {p.passage_id: p.content_hash for p in resumed.backend.passages("late")}
    assert passages == {p.passage_id: p.content_hash for p in clean.backend.passages("clean")}


def test_a_data_folder_through_a_file_is_one_line(corpus, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli("ingest", str(corpus), data_dir=blocker / "store")
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"Cannot create the data folder {blocker / 'store'}" in result.stderr


# a judged folder in BEIR's layout, for eval
JUDGED = {
    "corpus.jsonl": '{"_id": "d1", "title": "", "text": "bone density"}\n',
    "queries.jsonl": '{"_id": "q1", "text": "bone"}\n',
    "qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\n",
}


@pytest.mark.parametrize("command", ["query", "eval"])
def test_every_command_on_a_data_folder_through_a_file_is_one_line(tmp_path, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    judged = tmp_path / "judged"
    for name, text in JUDGED.items():
        (judged / name).parent.mkdir(parents=True, exist_ok=True)
        (judged / name).write_text(text)
    arguments = {"query": ["query", "anything"], "eval": ["eval", str(judged)]}[command]
    result = run_cli(*arguments, data_dir=blocker / "store")
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"data folder {blocker / 'store'} (Not a directory)" in result.stderr


def test_a_data_folder_that_is_a_file_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli("query", "anything", data_dir=blocker)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert (
        result.stderr == f"error: The data folder {blocker} is a file: point --data-dir (or "
        "ESRERANK_DATA_DIR) at a folder.\n"
    )


def test_an_unwritable_lock_is_one_error(tmp_path):
    from esrerank.backends.locking import single_writer

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    missing = blocker / "x.sqlite"
    with (
        pytest.raises(BackendError, match="Cannot write to the data folder"),
        single_writer(missing, "x"),
    ):
        pass


def test_a_query_on_an_empty_index_says_why_nothing_was_reranked(bi_encoder, tmp_path):
    searcher = Searcher(None, "empty", data_dir=tmp_path / "store", bi_encoder=bi_encoder)
    searcher.backend.create_index("empty", IndexMeta(bi_encoder.name, bi_encoder.dimension, 64, 16))
    result = searcher.search("anything")
    assert result.hits == [] and not result.reranked
    assert result.rerank_reason == "nothing was retrieved to rerank"


def test_threads_search_one_embedded_store_while_it_is_being_written(
    bi_encoder, corpus, sample_corpus, tmp_path
):
    """Searches from several threads through the searcher that is ingesting: none fails, each
    sees a consistent index (every hit stored), and afterwards all agree with a fresh reader."""
    searcher = Searcher(None, "shared", data_dir=tmp_path, bi_encoder=bi_encoder)
    searcher.ingest(sample_corpus(10), chunking=SMALL)
    queries = ["cancer risk", "protein folding", "vitamin D", "bone density", "cell membranes"]
    errors: list[BaseException] = []
    searched = [0]
    ingesting = threading.Event()
    ingesting.set()

    def search_until_done(query: str) -> None:
        try:
            while ingesting.is_set():
                result = searcher.search(query, top_k=5, candidates=20, rerank=False)
                stored = searcher.backend.get("shared", [h.passage_id for h in result.hits])
                assert len(stored) == len(result.hits)
                searched[0] += 1
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=search_until_done, args=(q,)) for q in queries]
    for thread in threads:
        thread.start()
    try:
        report = searcher.ingest(corpus, chunking=SMALL)
    finally:
        ingesting.clear()
        for thread in threads:
            thread.join()
    assert not errors, errors[0]
    assert searched[0] >= len(queries) and report.failed == 0
    with Searcher(None, "shared", data_dir=tmp_path, bi_encoder=bi_encoder) as fresh:
        for query in queries:
            expected = fresh.search(query, candidates=20, rerank=False).hits
            ours = searcher.search(query, candidates=20, rerank=False).hits
            assert [h.passage_id for h in ours] == [h.passage_id for h in expected]
    searcher.close()
