"""Ingests killed (SIGKILL) or interrupted (SIGINT, Ctrl-C) on the command line at several points,
on every backend, then run again: the index must hold exactly what a clean ingest stores (passage
ids and content hashes), nothing lost and nothing twice."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from esrerank import Searcher
from esrerank.backends import open_backend
from esrerank.errors import EsrerankError
from tests.cli import run_cli, start_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DOCUMENTS = 100  # two ingest batches
ROOT = Path(__file__).parents[2]


def stored(backend, index: str) -> dict[str, str]:
    """passage id -> content hash, as the index holds them now (empty when it does not exist)."""
    try:
        if not backend.index_exists(index):
            return {}
        backend.refresh(index)
        return {p.passage_id: p.content_hash for p in backend.passages(index)}
    except (EsrerankError, sqlite3.Error):  # a store being created this instant
        return {}


def count(backend, index: str) -> int:
    try:
        if not backend.index_exists(index):
            return -1
        backend.refresh(index)
        return backend.count(index)
    except (EsrerankError, sqlite3.Error):  # a store being created this instant
        return -1


@pytest.fixture
def run(backend_url, tmp_path):
    """``run(*args)`` and ``start(*args)`` of the CLI on one fresh index, and its backend."""
    index = f"crash-{uuid.uuid4().hex[:8]}"
    env = {"ESRERANK_URL": backend_url or "", "ESRERANK_INDEX": index}
    backend = open_backend(backend_url, tmp_path / "store")

    class Runner:
        def __init__(self):
            self.index, self.backend = index, backend

        def __call__(self, *args, data_dir=tmp_path / "store"):
            return run_cli(*args, data_dir=data_dir, **env)

        def start(self, *args, data_dir=tmp_path / "store"):
            command = [sys.executable, "-m", "esrerank", *args]
            return start_cli(command, data_dir=data_dir, **env)

    yield Runner()
    backend.delete_index(index)


def stop_when(running, ready, signal_number) -> str:
    """Send ``signal_number`` once ``ready()`` holds (or the run ended); return its stderr."""
    deadline = time.monotonic() + 300
    while running.poll() is None and not ready() and time.monotonic() < deadline:
        time.sleep(0.05)
    if running.poll() is None:
        running.send_signal(signal_number)
    _, stderr = running.communicate(timeout=120)
    assert "Traceback" not in stderr, stderr
    return stderr


@pytest.fixture(scope="module")
def clean(tmp_path_factory, sample_dir, bi_encoder):
    """The corpus, and what a clean ingest of it stores (ids and hashes are the same on every
    backend)."""
    folder = tmp_path_factory.mktemp("clean")
    corpus = folder / "corpus.jsonl"
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()[:DOCUMENTS]
    corpus.write_text("\n".join(lines) + "\n")
    with Searcher(None, "clean", data_dir=folder / "store", bi_encoder=bi_encoder) as searcher:
        searcher.ingest(corpus)
        return corpus, stored(searcher.backend, "clean")


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGINT], ids=["kill", "int"])
@pytest.mark.parametrize("point", ["before-first-batch", "mid-ingest"])
def test_a_stopped_ingest_run_again_stores_what_a_clean_one_does(run, clean, signal_number, point):
    corpus, expected = clean
    if point == "before-first-batch":
        ready = lambda: count(run.backend, run.index) == 0  # noqa: E731 - created, nothing stored
    else:
        ready = lambda: 0 < count(run.backend, run.index) < len(expected)  # noqa: E731
    stderr = stop_when(run.start("ingest", str(corpus)), ready, signal_number)
    if signal_number == signal.SIGINT:
        assert stderr.strip().splitlines()[-1].startswith("Interrupted")
    again = run("ingest", str(corpus))
    assert again.returncode == 0, again.stderr
    assert stored(run.backend, run.index) == expected


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGINT], ids=["kill", "int"])
def test_an_ingest_stopped_while_it_deletes_run_again_removes_the_rest(
    run, clean, tmp_path, signal_number
):
    full_corpus, full = clean
    assert run("ingest", str(full_corpus)).returncode == 0
    kept_lines = full_corpus.read_text().splitlines()[: DOCUMENTS // 2]
    corpus = tmp_path / "half.jsonl"
    corpus.write_text("\n".join(kept_lines) + "\n")
    kept_docs = {json.loads(line)["_id"] for line in kept_lines}
    expected = {pid: h for pid, h in full.items() if pid.rsplit("#", 1)[0] in kept_docs}

    # the deletions come last, after every document was found unchanged
    ready = lambda: count(run.backend, run.index) < len(full)  # noqa: E731
    stop_when(run.start("ingest", str(corpus), "--sync"), ready, signal_number)
    again = run("ingest", str(corpus), "--sync")
    assert again.returncode == 0, again.stderr
    assert stored(run.backend, run.index) == expected


def test_an_engine_restarted_mid_ingest_ends_in_one_line_and_a_rerun_completes(
    run, clean, backend_url
):
    if backend_url is None:
        pytest.skip("the embedded store has no server to restart")
    engine = run.backend.engine
    corpus, expected = clean
    ingest = run.start("ingest", str(corpus))
    deadline = time.monotonic() + 300
    while ingest.poll() is None and count(run.backend, run.index) <= 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    engines = [str(ROOT / "scripts" / "engines.sh")]
    subprocess.run([*engines, "stop", engine], check=True, capture_output=True, timeout=120)
    try:
        _, stderr = ingest.communicate(timeout=300)
        assert "Traceback" not in stderr
        if ingest.returncode != 0:  # it did not finish before the engine went down
            assert ingest.returncode == 1
            assert stderr.strip().splitlines()[-1].startswith("error: Cannot reach the cluster")
    finally:
        subprocess.run([*engines, "start", engine], check=True, capture_output=True, timeout=600)
    again = run("ingest", str(corpus))
    assert again.returncode == 0, again.stderr
    assert stored(run.backend, run.index) == expected


def test_two_ingests_side_by_side_on_an_engine_store_what_one_does(run, clean, backend_url):
    if backend_url is None:
        pytest.skip("the embedded store lets one writer in at a time (test_write_safety)")
    corpus, expected = clean
    first, second = run.start("ingest", str(corpus)), run.start("ingest", str(corpus))
    for ingest in (first, second):
        _, stderr = ingest.communicate(timeout=600)
        assert ingest.returncode == 0, stderr
    assert stored(run.backend, run.index) == expected
