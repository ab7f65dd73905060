"""Where a cluster is and how to log in to it: ``Cluster``, and the opensearch-py client built
from it once and handed to the backend.

opensearch-py is the one official Python client that talks to every engine esrerank supports:
it has no product check and sends plain ``application/json``, so OpenSearch 2.19 / 3.6 and
Elasticsearch 8.19 / 9.3 all answer it (checked with opensearch-py 2.8.0 and 3.2.0: index
creation, bulk, msearch with kNN and filters, mget, count, mappings, aliases). The Elasticsearch
client refuses OpenSearch ("The client noticed that the server is not Elasticsearch", and a 406
for its ``compatible-with`` media types), and its 9.x line refuses Elasticsearch 8 ("Accept
version must be either version 8 or 7, but found 9"). opensearch-py 2.8 is used: 3.x adds
protobuf and grpcio, which esrerank does not need. It brings connection pooling, TLS, basic auth
and AWS SigV4 signing; API keys and bearer tokens are its per-request headers.
"""

from __future__ import annotations

import base64
import binascii
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ..errors import ConfigError
from .redaction import keep_secret

log = logging.getLogger(__name__)

AWS_SERVICES = ("es", "aoss")  # Amazon OpenSearch Service, OpenSearch Serverless


@dataclass(frozen=True)
class Cluster:
    """A cluster's URL with the credentials and TLS settings to reach it.

    One way to log in at most: ``user`` + ``password`` (basic), ``api_key`` (Elasticsearch's
    ``ApiKey``: the encoded key, or ``id:key``), ``bearer_token``, or ``aws_region`` (SigV4 from
    the standard AWS credential chain; ``aws_service`` ``es`` or ``aoss``). Credentials in the
    URL (``https://user:pass@host``) move to ``user`` / ``password``. ``ca_certs`` is the PEM of
    the CA to trust (default: the system's), ``client_cert`` / ``client_key`` a client
    certificate, and ``insecure`` turns certificate checks off. Secrets never show in a repr,
    a message or a log line.
    """

    url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    bearer_token: str | None = field(default=None, repr=False)
    ca_certs: str | Path | None = None
    client_cert: str | Path | None = None
    client_key: str | Path | None = None
    insecure: bool = False
    aws_region: str | None = None
    aws_service: str = "es"
    timeout: float = 60.0

    def __post_init__(self) -> None:
        for name in ("user", "password", "api_key", "bearer_token", "aws_region"):
            if getattr(self, name) == "":  # an empty environment variable sets nothing
                object.__setattr__(self, name, None)
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"`url` '{self.url.rpartition('@')[2]}' is not a URL: "
                "give the cluster's address, e.g. http://localhost:9200 (or leave it empty for "
                "the embedded store).",
                settings=("url",),
            )
        if parts.username is not None:
            object.__setattr__(self, "user", self.user or unquote(parts.username))
            if parts.password is not None:
                object.__setattr__(self, "password", self.password or unquote(parts.password))
            netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
            object.__setattr__(self, "url", urlunsplit(parts._replace(netloc=netloc)))
        object.__setattr__(self, "url", self.url.rstrip("/"))
        for secret in (self.password, self.api_key, self.bearer_token):
            keep_secret(secret)
        self._check()

    @classmethod
    def from_cloud_id(cls, cloud_id: str, **options: Any) -> Cluster:
        """The Elastic Cloud deployment a Cloud ID names (``name:base64(host$es_id$kibana_id)``)."""
        _, _, encoded = cloud_id.rpartition(":")
        try:
            host, es_id, *_ = base64.b64decode(encoded, validate=True).decode().split("$")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ConfigError(
                f"`cloud_id` '{cloud_id[:40]}' is not an Elastic Cloud ID: copy it from the "
                "deployment's page (name:base64...).",
                settings=("cloud_id",),
            ) from None
        hostname, _, port = host.partition(":")
        return cls(f"https://{es_id}.{hostname}:{port or 443}", **options)

    @property
    def tls(self) -> bool:
        return self.url.startswith("https://")

    @property
    def login(self) -> str:
        """How this connection logs in, for messages: ``'admin'``, ``an API key``, ..."""
        if self.user:
            return f"'{self.user}'"
        if self.api_key:
            return "an API key"
        if self.bearer_token:
            return "a bearer token"
        if self.aws_region:
            return f"AWS credentials ({self.aws_service}, {self.aws_region})"
        return "no credentials"

    def _check(self) -> None:
        ways = [self.user is not None, bool(self.api_key), bool(self.bearer_token)]
        if sum(ways) + bool(self.aws_region) > 1:
            raise ConfigError(
                "Give one way to log in: `user` and `password`, `api_key`, `bearer_token` or "
                "`aws_region`.",
                settings=("user", "password", "api_key", "bearer_token", "aws_region"),
            )
        if (self.user is None) != (self.password is None):
            raise ConfigError(
                "Basic auth needs both `user` and `password`.", settings=("user", "password")
            )
        if self.aws_service not in AWS_SERVICES:
            raise ConfigError(
                f"`aws_service` '{self.aws_service}' is not one of es (Amazon OpenSearch Service) "
                "or aoss (OpenSearch Serverless).",
                settings=("aws_service",),
            )
        files = {"ca_certs": self.ca_certs, "client_cert": self.client_cert}
        files["client_key"] = self.client_key
        for name, path in files.items():
            if path is not None and not Path(path).expanduser().is_file():
                raise ConfigError(f"`{name}` file {path} does not exist.", settings=(name,))
        if self.client_key is not None and self.client_cert is None:
            raise ConfigError(
                "`client_key` needs `client_cert`.", settings=("client_key", "client_cert")
            )
        tls_files = [name for name, path in files.items() if path is not None]
        if tls_files and not self.tls:
            raise ConfigError(
                f"{' and '.join(tls_files)} apply to TLS, but `url` {self.url} is plain http: "
                "use https://.",
                settings=("url", *tls_files),
            )


def client_options(cluster: Cluster) -> dict[str, Any]:
    """Keyword arguments of ``opensearchpy.OpenSearch`` for the cluster's login and TLS."""
    options: dict[str, Any] = {}
    if cluster.user is not None:
        options["http_auth"] = (cluster.user, cluster.password)
    elif cluster.api_key:
        options["headers"] = {"authorization": f"ApiKey {_encoded_api_key(cluster.api_key)}"}
    elif cluster.bearer_token:
        options["headers"] = {"authorization": f"Bearer {cluster.bearer_token}"}
    elif cluster.aws_region:
        options["http_auth"] = _aws_signer(cluster.aws_region, cluster.aws_service)
    if cluster.tls:
        options["ca_certs"] = _path(cluster.ca_certs)
        options["client_cert"] = _path(cluster.client_cert)
        options["client_key"] = _path(cluster.client_key)
        if cluster.insecure:
            options.update(verify_certs=False, ssl_assert_hostname=False, ssl_show_warn=False)
            _warn_insecure(cluster.url)
    return {key: value for key, value in options.items() if value is not None}


def _encoded_api_key(api_key: str) -> str:
    """Elasticsearch's header form: base64 of ``id:key`` (an encoded key is used as it is)."""
    if ":" in api_key:
        encoded = base64.b64encode(api_key.encode()).decode()
        keep_secret(encoded)
        return encoded
    return api_key


def _aws_signer(region: str, service: str) -> Any:
    try:
        import botocore.session
        from opensearchpy import Urllib3AWSV4SignerAuth
    except ImportError:
        raise ConfigError(
            "Signing requests for AWS (`aws_region`) needs botocore: pip install 'esrerank[aws]'.",
            settings=("aws_region",),
        ) from None
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise ConfigError(
            "No AWS credentials found for `aws_region`: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run where an instance role applies.",
            settings=("aws_region",),
        )
    return Urllib3AWSV4SignerAuth(credentials, region, service)


def _warn_insecure(url: str) -> None:
    """Say once that certificates go unchecked; urllib3's warning for every request is dropped."""
    import urllib3

    warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    log.warning(
        "TLS certificate checks are off for %s (insecure): anyone on the path can read and "
        "change what is sent, passwords included.",
        url,
    )


def _path(value: str | Path | None) -> str | None:
    return None if value is None else str(Path(value).expanduser())
