"""``esrerank serve`` stopped with SIGTERM, as a process manager or a rolling restart behind a
balancer stops it: it refuses new connections at once, answers the requests in flight, and
exits within ``--shutdown-timeout`` (plus the one model call already running)."""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest
import requests

from .served import ingested_store, serve_process

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INDEX = "served"


@pytest.fixture(scope="module")
def store(tmp_path_factory, sample_dir):
    return ingested_store(tmp_path_factory.mktemp("shutdown"), sample_dir, INDEX, 3)


@pytest.fixture(scope="module")
def abstracts(sample_dir) -> list[str]:
    """Sixty abstracts: one rerank request over them keeps the cross-encoder busy for seconds."""
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()[:60]
    return [json.loads(line)["text"] for line in lines]


class Rerank(threading.Thread):
    """One rerank request in the background: its status (or the error) and when it ended."""

    def __init__(self, url: str, query: str, documents: list[str]) -> None:
        super().__init__()
        self.call = (f"{url}/v1/rerank", {"query": query, "documents": documents})
        self.status: int | str = "not answered"
        self.ended = 0.0
        self.start()

    def run(self) -> None:
        try:
            self.status = requests.post(self.call[0], json=self.call[1], timeout=300).status_code
        except requests.ConnectionError as error:
            self.status = type(error).__name__
        self.ended = time.monotonic()


def test_sigterm_refuses_new_connections_and_answers_the_request_in_flight(store, abstracts):
    process, url = serve_process(store, INDEX)
    in_flight = Rerank(url, "colorectal cancer risk", abstracts)
    time.sleep(1.0)  # the model is scoring it
    stopped = time.monotonic()
    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/healthz", timeout=5)
    in_flight.join()
    assert in_flight.status == 200 and in_flight.ended > stopped
    assert process.wait(timeout=60) == -signal.SIGTERM  # the conventional exit: 143 in a shell
    time.sleep(0.5)  # its last lines read
    assert "Traceback" not in "".join(process.log)


def test_the_rest_is_dropped_after_the_shutdown_timeout(store, abstracts):
    process, url = serve_process(store, INDEX, "--shutdown-timeout", "1")
    started = time.monotonic()
    one = Rerank(url, "a first question", abstracts)
    one.join()
    assert one.status == 200
    alone = one.ended - started  # one request's time, with nothing waiting beside it
    count = 4 + int(8 / alone)  # enough that finishing them all would take well past the bound
    queued = [Rerank(url, f"question {n} on cancer", abstracts) for n in range(count)]
    time.sleep(0.5)
    stopped = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=120)
    took = time.monotonic() - stopped
    for request in queued:
        request.join()
    statuses = [request.status for request in queued]
    assert statuses.count(200) < count, statuses
    # the timeout, then the model call already running; not every request's time
    assert took < 1 + 2 * alone + 5, (took, alone, statuses)
