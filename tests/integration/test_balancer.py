"""Two ``esrerank serve`` processes behind HAProxy (Debian's, with examples/haproxy.cfg as
shipped): searches keep flowing, every one answered 200 and the same, while each serve in turn is
stopped with SIGTERM and started again."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from .served import free_port, ingested_store, serve_process

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONFIG = Path(__file__).parents[2] / "examples" / "haproxy.cfg"
INDEX = "balanced"
SEARCH = {"query": {"match": {"text": "colorectal cancer risk"}}, "size": 5}


def haproxy() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if found is None:
        message = "HAProxy is not installed: apt-get install haproxy"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def store(tmp_path_factory, sample_dir):
    return ingested_store(tmp_path_factory.mktemp("balanced"), sample_dir, INDEX, 40)


def served_by(process) -> int:
    return sum(f"/{INDEX}/_search 200" in line for line in process.log)


def test_searches_keep_flowing_while_each_serve_restarts(store, tiny_reranker):
    binary = haproxy()
    ports = [free_port(), free_port()]
    options = ("--reranker", tiny_reranker)
    serves = [serve_process(store, INDEX, *options, port=port)[0] for port in ports]
    front = f"127.0.0.1:{free_port()}"
    environment = {
        **os.environ,
        "ESRERANK_BALANCER": front,
        "ESRERANK_SERVE_1": f"127.0.0.1:{ports[0]}",
        "ESRERANK_SERVE_2": f"127.0.0.1:{ports[1]}",
    }
    balancer = subprocess.Popen(
        [binary, "-db", "-f", str(CONFIG)], env=environment, stderr=subprocess.PIPE, text=True
    )
    answers: list[tuple[float, int, list[str]]] = []  # (sent at, status, ids)
    stop = threading.Event()

    def search_on() -> None:
        while not stop.is_set():
            sent = time.monotonic()
            try:
                response = requests.post(
                    f"http://{front}/{INDEX}/_search", json=SEARCH, timeout=120
                )
            except requests.ConnectionError as error:
                answers.append((sent, 0, [type(error).__name__]))
                continue
            hits = response.json().get("hits", {}).get("hits", [])
            answers.append((sent, response.status_code, [hit["_id"] for hit in hits]))

    deadline = time.monotonic() + 60
    while not answers_ready(front) and time.monotonic() < deadline:
        time.sleep(0.2)
    clients = [threading.Thread(target=search_on) for _ in range(3)]
    for client in clients:
        client.start()
    stopped, windows = [], []  # each serve's time away: SIGTERM to healthy again
    try:
        for number, port in enumerate(ports):
            time.sleep(3)
            away = time.monotonic()
            serves[number].send_signal(signal.SIGTERM)
            serves[number].wait(timeout=120)
            stopped.append(serves[number])
            serves[number] = serve_process(store, INDEX, *options, port=port)[0]
            windows.append((away, time.monotonic()))
            time.sleep(3)  # its health checks pass again
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=180)
        balancer.terminate()
        balancer.wait(timeout=30)
        for process in serves:
            process.terminate()
            process.wait(timeout=60)
    statuses = [status for _, status, _ in answers]
    assert set(statuses) == {200}, statuses
    for began, ended in windows:  # searches were sent while each serve was away
        assert any(began <= sent <= ended for sent, _, _ in answers), (windows, answers)
    assert len({tuple(ids) for _, _, ids in answers}) == 1  # whichever serve answered
    # both answered before their restarts, and the first restarted one while the second was away
    assert all(served_by(process) > 0 for process in [*stopped, serves[0]])


def answers_ready(front: str) -> bool:
    try:
        return requests.post(f"http://{front}/{INDEX}/_search", json=SEARCH, timeout=30).ok
    except requests.ConnectionError:
        return False
