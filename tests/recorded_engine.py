"""A local HTTP server playing an engine's recorded answers: real HTTP for the client's fault
handling, where no real engine can be made to fail that way on cue."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from esrerank.backends import IndexMeta
from esrerank.backends.rest import META_KEY
from esrerank.backends.schema import ESRERANK_SCHEMA
from esrerank.models.hub import DEFAULT_BI_ENCODER
from esrerank.types import Passage


class Recorded(BaseHTTPRequestHandler):
    """Answers each request with the next answer its server holds for the request's path."""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        self.server.seen.append((self.command, self.path, body))
        answers = self.server.answers[self.path.split("?")[0]]
        status, payload = answers.pop(0) if len(answers) > 1 else answers[0]  # the last one stays
        data = json.dumps(payload(body) if callable(payload) else payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _answer  # noqa: N815 - the handler's method names

    def do_HEAD(self):  # noqa: N802 - every index asked about exists
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@contextmanager
def recorded_engine() -> Iterator[ThreadingHTTPServer]:
    """A server on a free port; set ``answers`` (path -> [(status, body), ...]) and read
    ``seen`` (method, path, body)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorded)
    server.answers, server.seen = {}, []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()


def answers_one_search_late(server: ThreadingHTTPServer) -> str:
    """Make ``server`` an OpenSearch 2.19 with index ``idx`` whose searches' second leg times
    out; its URL."""
    meta = IndexMeta(DEFAULT_BI_ENCODER, 384, 200, 40)
    passage = Passage("d#0", "d", "Bone", "Vitamin D and bone fractures.", 0, 0, 29, "h")
    hit = {"_id": "d#0", "_score": 1.5, "_source": ESRERANK_SCHEMA.source(passage)}
    whole = {"hits": {"hits": [hit]}, "_shards": {"total": 1, "successful": 1, "failed": 0}}
    late = {**whole, "timed_out": True}
    server.answers = {
        "/": [(200, {"version": {"distribution": "opensearch", "number": "2.19.0"}})],
        "/idx/_mapping": [(200, {"idx": {"mappings": {"_meta": {META_KEY: meta.to_dict()}}}})],
        "/_msearch": [(200, {"responses": [whole, late]})],
    }
    return f"http://127.0.0.1:{server.server_port}"
