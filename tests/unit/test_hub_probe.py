"""The one probe of the model hub: a silent or absent hub is told apart from one that answers,
and a model found nowhere then fails at once with the reason."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from esrerank.errors import ModelError
from esrerank.models import hub


@pytest.fixture
def online(monkeypatch):
    """The hub switch off and the probe's memory cleared, before and after."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    hub.probe_hub.cache_clear()
    yield monkeypatch
    hub.probe_hub.cache_clear()


def test_a_hub_that_accepts_but_never_answers_is_unreachable(online):
    with socket.socket() as silent:  # listens, never reads: connections hang like a dead route
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        online.setenv("HF_ENDPOINT", endpoint)
        reason = hub.hub_unreachable()
        assert reason == f"the hub ({endpoint}) did not answer within 1 s"
        with pytest.raises(ModelError, match=r"not installed locally and the hub \(http"):
            hub.resolve_model("someone/not-here", "cross-encoder")


def test_a_hub_that_answers_is_used(online):
    class Answer(BaseHTTPRequestHandler):
        def do_HEAD(self):  # noqa: N802 - the handler's method name
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        online.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        assert hub.hub_unreachable() is None
        assert hub.resolve_model("someone/not-here", "cross-encoder") == "someone/not-here"
    finally:
        server.shutdown()


def test_the_offline_switch_needs_no_probe(online):
    online.setenv("HF_HUB_OFFLINE", "1")
    online.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # would refuse, were it asked
    assert hub.hub_unreachable() == "the hub is offline (HF_HUB_OFFLINE=1)"


def test_a_refused_hub_is_named_without_waiting_out_the_probe(online):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
        online.setenv("HF_ENDPOINT", endpoint)
        reason = hub.hub_unreachable()
        assert reason == f"the hub ({endpoint}) cannot be reached (ConnectionError)"
