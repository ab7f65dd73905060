"""An HTTPS front with Elasticsearch's authentication for an engine that has none.

The Elasticsearch integration-test distribution runs without security. ``HttpsFront`` puts TLS
(a throwaway CA from trustme), credentials (basic, ``ApiKey``, ``Bearer``), optional client
certificates and read-only users in front of it, and refuses requests with the status, body and
headers Elasticsearch uses. Everything else goes to the plain-HTTP upstream unchanged.
"""

from __future__ import annotations

import base64
import binascii
import json
import shutil
import ssl
import sys
import tempfile
import threading
from collections.abc import Collection, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
import trustme

# The schemes Elasticsearch 8 names in a 401, as WWW-Authenticate headers and in the body.
CHALLENGES = ('Basic realm="security", charset="UTF-8"', 'Bearer realm="security"', "ApiKey")
READ_ENDPOINTS = ("_search", "_msearch", "_mget", "_count", "_refresh")
# What a read-only user is refused: (action, the index privileges that would grant it).
WRITE_ACTIONS = {
    "bulk": ("indices:data/write/bulk", "create_doc,create,delete,index,write,all"),
    "PUT": ("indices:admin/create", "create_index,manage,all"),
    "DELETE": ("indices:admin/delete", "delete_index,manage,all"),
    "index": ("indices:data/write/index", "create_doc,create,index,write,all"),
}
# Headers that belong to one connection, or that this front sets itself.
NOT_RELAYED = {
    "authorization",
    "connection",
    "content-encoding",
    "content-length",
    "host",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


class HttpsFront:
    """``with HttpsFront("http://127.0.0.1:9202", users={"elastic": "pw"}) as front:`` serves
    ``front.url`` over TLS; clients trust ``front.ca_path``, and with ``client_ca=True`` must
    present ``front.client_cert_path`` / ``front.client_key_path``. ``front.requests`` lists the
    ``(method, path, headers)`` received, the credentials reduced to their scheme."""

    def __init__(
        self,
        upstream: str,
        *,
        users: Mapping[str, str] | None = None,
        api_keys: Collection[str] = (),
        bearer_tokens: Collection[str] = (),
        read_only_users: Collection[str] = (),
        client_ca: bool = False,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.users = dict(users or {})
        self.api_keys = set(api_keys)
        self.bearer_tokens = set(bearer_tokens)
        self.read_only_users = set(read_only_users)
        self.client_ca = client_ca
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.url = ""
        self.ca_path = ""
        self.client_cert_path = ""
        self.client_key_path = ""

    def __enter__(self) -> HttpsFront:
        self._folder = Path(tempfile.mkdtemp(prefix="https-front-"))
        ca = trustme.CA()
        self.ca_path = str(self._folder / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        if self.client_ca:
            ca.configure_trust(context)
            context.verify_mode = ssl.CERT_REQUIRED
            client = ca.issue_cert("esrerank-client")
            self.client_cert_path = str(self._folder / "client.pem")
            self.client_key_path = str(self._folder / "client-key.pem")
            client.cert_chain_pems[0].write_to_path(self.client_cert_path)
            client.private_key_pem.write_to_path(self.client_key_path)
        self._session = requests.Session()
        self._server = _TlsServer(("127.0.0.1", 0), _FrontHandler, context, self)
        self.url = f"https://127.0.0.1:{self._server.server_port}"
        serve = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        serve.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._session.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def authenticate(self, authorization: str, path: str) -> tuple[str | None, str]:
        """The user that ``authorization`` proves (``_api_key`` or ``_token`` for those), or
        ``None`` and Elasticsearch's reason."""
        if not authorization:
            return None, f"missing authentication credentials for REST request [{path}]"
        scheme, _, credentials = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                user, _, password = base64.b64decode(credentials).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, password = "", ""
            if user and self.users.get(user) == password:
                return user, ""
            if user:
                return None, f"unable to authenticate user [{user}] for REST request [{path}]"
        if scheme == "apikey" and credentials in self.api_keys:
            return "_api_key", ""
        if scheme == "bearer" and credentials in self.bearer_tokens:
            return "_token", ""
        return None, (
            "unable to authenticate with provided credentials and anonymous access is not "
            f"allowed for this request [{path}]"
        )

    def refusal(self, user: str, method: str, path: str) -> str | None:
        """Why ``user`` may not make this request (Elasticsearch's words), or ``None``."""
        route = path.split("?", 1)[0]
        if user not in self.read_only_users or method in ("GET", "HEAD"):
            return None
        if method == "POST" and route.rstrip("/").endswith(READ_ENDPOINTS):
            return None
        parts = [part for part in route.split("/") if part]
        if parts and parts[-1] == "_bulk":
            action, privileges = WRITE_ACTIONS["bulk"]
        elif len(parts) == 1 and method in ("PUT", "DELETE"):
            action, privileges = WRITE_ACTIONS[method]
        else:
            action, privileges = WRITE_ACTIONS["index"]
        on_indices = f" on indices [{parts[0]}]" if parts and not parts[0].startswith("_") else ""
        return (
            f"action [{action}] is unauthorized for user [{user}] with effective roles [viewer]"
            f"{on_indices}, this action is granted by the index privileges [{privileges}]"
        )

    def forward(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> requests.Response:
        relayed = {
            name: value for name, value in headers.items() if name.lower() not in NOT_RELAYED
        }
        return self._session.request(
            method,
            self.upstream + path,
            data=body or None,
            headers=relayed,
            allow_redirects=False,
            timeout=120,
        )


class _TlsServer(ThreadingHTTPServer):
    """Threads per connection; the TLS handshake happens in the connection's thread."""

    daemon_threads = True

    def __init__(self, address, handler, context: ssl.SSLContext, front: HttpsFront) -> None:
        super().__init__(address, handler)
        self.context = context
        self.front = front

    def get_request(self):
        connection, address = self.socket.accept()
        wrapped = self.context.wrap_socket(
            connection, server_side=True, do_handshake_on_connect=False
        )
        return wrapped, address

    def handle_error(self, request, client_address) -> None:
        """Failed handshakes and dropped connections are the clients' business."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _FrontHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length
    timeout = 60
    server: _TlsServer

    def setup(self) -> None:
        super().setup()
        self.request.do_handshake()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: no line per request on stderr."""

    def relay(self) -> None:
        front = self.server.front
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        authorization = self.headers.get("Authorization", "")
        recorded = {
            name: value for name, value in self.headers.items() if name.lower() != "authorization"
        }
        if authorization:
            recorded["Authorization"] = authorization.split(" ", 1)[0]
        front.requests.append((self.command, self.path, recorded))

        user, reason = front.authenticate(authorization, self.path)
        if user is None:
            self.send_security_exception(401, reason)
            return
        reason = front.refusal(user, self.command, self.path)
        if reason is not None:
            self.send_security_exception(403, reason)
            return
        try:
            answer = front.forward(self.command, self.path, self.headers, body)
        except requests.RequestException as exc:
            self.send_answer(
                502, [("Content-Type", "text/plain")], f"{front.upstream}: {exc}".encode()
            )
            return
        headers = [
            (name, value)
            for name, value in answer.headers.items()
            if name.lower() not in NOT_RELAYED
        ]
        if self.command == "HEAD":
            length = answer.headers.get("Content-Length", "0")
            self.send_answer(answer.status_code, headers, b"", length)
        else:
            self.send_answer(answer.status_code, headers, answer.content)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = relay

    def send_security_exception(self, status: int, reason: str) -> None:
        cause: dict[str, object] = {"type": "security_exception", "reason": reason}
        headers = [("Content-Type", "application/json")]
        if status == 401:
            cause["header"] = {"WWW-Authenticate": list(CHALLENGES)}
            headers += [("WWW-Authenticate", challenge) for challenge in CHALLENGES]
        error = {"error": {"root_cause": [cause], **cause}, "status": status}
        body = b"" if self.command == "HEAD" else json.dumps(error).encode()
        self.send_answer(status, headers, body)

    def send_answer(
        self,
        status: int,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        length: str | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", length or str(len(body)))
        self.end_headers()
        self.wfile.write(body)
