"""Secured clusters: TLS and logins, through the command line and ``Searcher(Cluster(...))``.

OpenSearch runs with its security plugin (``scripts/engines.sh start secured``: TLS from a CA made
at start, internal users ``admin`` and the read-only ``reader``). Elasticsearch's security lives
in x-pack, which its integration-test distribution lacks, so it is reached through
``HttpsFront``: a real TLS server on loopback that checks Elasticsearch's credentials (basic,
``ApiKey``, ``Bearer``, client certificates) and answers refusals as Elasticsearch does.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
import requests

from esrerank import AuthenticationError, AuthorizationError, BackendError, Cluster, Searcher
from esrerank.backends import open_backend
from esrerank.serve.app import Limits, build_app
from esrerank.serve.proxy import Proxy
from tests.cli import run_cli

from .conftest import require_backend
from .https_front import HttpsFront
from .test_serve import Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENGINES_DIR = Path(os.environ.get("ESRERANK_ENGINES_DIR", Path.home() / ".cache/esrerank/engines"))
SECURED_URL = os.environ.get("ESRERANK_TEST_SECURED_URL", "https://127.0.0.1:9203")
SECURED_CA = ENGINES_DIR / "run" / "secured-certs" / "root-ca.pem"
ADMIN = ("admin", os.environ.get("ESRERANK_SECURED_PASSWORD", "Esrerank-Admin-1"))
READER = ("reader", "Esrerank-Reader-1")
QUERY = "bariatric surgery and cancer"


@pytest.fixture(scope="module")
def secured() -> str:
    """The secured OpenSearch node's URL (skipped locally when it is down, failed in CI)."""
    try:
        up = requests.get(SECURED_URL, auth=ADMIN, verify=str(SECURED_CA), timeout=5).ok
    except (requests.RequestException, OSError):
        up = False
    if not up:
        message = f"secured OpenSearch is not running at {SECURED_URL}: " + (
            "start it with 'scripts/engines.sh start secured'"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SECURED_URL


@pytest.fixture(scope="module")
def front():
    """Elasticsearch behind a TLS front with two users, an API key and a bearer token."""
    with HttpsFront(
        require_backend("elasticsearch"),
        users={"elastic": "Elastic-Pass-1", "viewer": "Viewer-Pass-1"},
        read_only_users={"viewer"},
        api_keys={"a2V5LWlkOmtleS1zZWNyZXQ="},  # base64 of key-id:key-secret
        bearer_tokens={"token-0123456789"},
    ) as running:
        yield running


@pytest.fixture
def corpus(sample_corpus):
    return sample_corpus(30)


def cli(*args, tmp_path, **env):
    return run_cli(*args, data_dir=tmp_path / "store", **env)


def one_line_error(result) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_security_plugin_ingest_query_and_eval_with_basic_auth_and_tls(
    secured, corpus, tmp_path, sample_dir
):
    index = f"secured-{uuid.uuid4().hex[:8]}"
    env = {
        "ESRERANK_URL": secured,
        "ESRERANK_INDEX": index,
        "ESRERANK_USER": ADMIN[0],
        "ESRERANK_PASSWORD": ADMIN[1],
        "ESRERANK_CA_CERTS": str(SECURED_CA),
    }
    try:
        ingested = cli("ingest", str(corpus), tmp_path=tmp_path, **env)
        assert ingested.returncode == 0, ingested.stderr
        assert "opensearch 2.19" in ingested.stdout and "failed=0" in ingested.stdout
        found = cli("query", QUERY, "--no-rerank", "--json", tmp_path=tmp_path, **env)
        assert found.returncode == 0, found.stderr
        hits = json.loads(found.stdout)["hits"]
        assert len(hits) == 5 and hits[0]["scores"]["dense"] is not None

        beir = tmp_path / "beir"
        (beir / "qrels").mkdir(parents=True)
        (beir / "corpus.jsonl").write_text(corpus.read_text())
        (beir / "queries.jsonl").write_text((sample_dir / "queries.jsonl").read_text())
        (beir / "qrels" / "test.tsv").write_text((sample_dir / "queries.qrels.tsv").read_text())
        evaluated = cli(
            "eval",
            str(beir),
            "--strategies",
            "bm25,hybrid",
            "--index",
            index,
            "--password",
            ADMIN[1],
            "--out",
            str(tmp_path / "report"),
            tmp_path=tmp_path,
            **{k: v for k, v in env.items() if k not in ("ESRERANK_INDEX", "ESRERANK_PASSWORD")},
        )
        assert evaluated.returncode == 0, evaluated.stderr
        report = (tmp_path / "report.md").read_text() + (tmp_path / "report.json").read_text()
        assert "--password ***" in report and ADMIN[1] not in report + evaluated.stdout
        assert "| bm25 |" in evaluated.stdout and "| hybrid" in evaluated.stdout

        # the same index through the Python API, and nothing secret in what it shows
        cluster = Cluster(secured, user=ADMIN[0], password=ADMIN[1], ca_certs=SECURED_CA)
        assert ADMIN[1] not in repr(cluster)
        with Searcher(cluster, index, data_dir=tmp_path / "store") as searcher:
            api_hits = searcher.search(QUERY, rerank=False).hits
        assert [h.passage.passage_id for h in api_hits] == [h["passage_id"] for h in hits]
    finally:
        open_backend(
            Cluster(secured, user=ADMIN[0], password=ADMIN[1], ca_certs=SECURED_CA), tmp_path
        ).delete_index(index)


def test_security_plugin_refusals_are_one_line_each(secured, corpus, tmp_path):
    env = {"ESRERANK_URL": secured, "ESRERANK_CA_CERTS": str(SECURED_CA)}
    wrong = cli(
        "query", QUERY, "--user", "admin", tmp_path=tmp_path, ESRERANK_PASSWORD="Not-It-9", **env
    )
    assert one_line_error(wrong) == (
        f"error: 401 from {secured} for 'admin': check --user/--password (or ESRERANK_PASSWORD)."
    )
    assert "Not-It-9" not in wrong.stderr

    no_ca = cli(
        "query",
        QUERY,
        "--user",
        "admin",
        tmp_path=tmp_path,
        ESRERANK_URL=secured,
        ESRERANK_PASSWORD=ADMIN[1],
    )
    line = one_line_error(no_ca)
    assert line.startswith(f"error: The certificate of {secured} is not trusted (")
    assert line.endswith(
        "set --ca-certs to the CA file that signed it, or --insecure to skip the check."
    )

    reader = cli(
        "ingest",
        str(corpus),
        "--index",
        "reader-may-not",
        tmp_path=tmp_path,
        ESRERANK_USER=READER[0],
        ESRERANK_PASSWORD=READER[1],
        **env,
    )
    line = one_line_error(reader)
    assert line.startswith(f"error: 403 from {secured}: 'reader' may not run indices:")

    insecure = cli(
        "query",
        QUERY,
        "--insecure",
        "--json",
        tmp_path=tmp_path,
        ESRERANK_URL=secured,
        ESRERANK_USER=ADMIN[0],
        ESRERANK_PASSWORD=ADMIN[1],
        ESRERANK_INDEX="not-there",
    )
    line = one_line_error(insecure)  # it got past TLS and the login, to the missing index
    assert "Index 'not-there' not found" in line
    assert "TLS certificate checks are off" in insecure.stderr


def test_elasticsearch_behind_tls_with_each_login(front, corpus, tmp_path):
    index = f"front-{uuid.uuid4().hex[:8]}"
    basic = {"ESRERANK_USER": "elastic", "ESRERANK_PASSWORD": "Elastic-Pass-1"}
    env = {"ESRERANK_URL": front.url, "ESRERANK_CA_CERTS": front.ca_path, "ESRERANK_INDEX": index}
    ingested = cli("ingest", str(corpus), tmp_path=tmp_path, **env, **basic)
    assert ingested.returncode == 0, ingested.stderr
    assert "elasticsearch 8" in ingested.stdout or "elasticsearch 9" in ingested.stdout
    found = cli("query", QUERY, "--no-rerank", "--json", tmp_path=tmp_path, **env, **basic)
    assert found.returncode == 0, found.stderr
    expected = [hit["passage_id"] for hit in json.loads(found.stdout)["hits"]]
    try:
        logins = [
            {"api_key": "key-id:key-secret"},
            {"api_key": "a2V5LWlkOmtleS1zZWNyZXQ="},
            {"bearer_token": "token-0123456789"},
        ]
        for login in logins:
            cluster = Cluster(front.url, ca_certs=front.ca_path, **login)
            with Searcher(cluster, index, data_dir=tmp_path / "store") as searcher:
                hits = searcher.search(QUERY, rerank=False).hits
            assert [h.passage.passage_id for h in hits] == expected, login
        schemes = {headers.get("Authorization") for _, _, headers in front.requests}
        assert {"Basic", "ApiKey", "Bearer"} <= schemes
    finally:
        open_backend(
            Cluster(front.url, ca_certs=front.ca_path, user="elastic", password="Elastic-Pass-1"),
            tmp_path,
        ).delete_index(index)


def test_elasticsearch_refusals_are_one_line_each(front, corpus, tmp_path):
    env = {"ESRERANK_CA_CERTS": front.ca_path}
    in_url = front.url.replace("https://", "https://elastic:Wrong-Pass-7@")
    wrong = cli("query", QUERY, "--url", in_url, tmp_path=tmp_path, **env)
    assert one_line_error(wrong) == (
        f"error: 401 from {front.url} for 'elastic': check --user/--password "
        "(or ESRERANK_PASSWORD)."
    )
    assert "Wrong-Pass-7" not in wrong.stderr + wrong.stdout

    none = cli("query", QUERY, "--url", front.url, tmp_path=tmp_path, **env)
    assert "401 from" in one_line_error(none) and "needs credentials" in none.stderr

    key = cli(
        "query", QUERY, "--url", front.url, "--api-key", "Bad-Key-123", tmp_path=tmp_path, **env
    )
    assert one_line_error(key).endswith("check --api-key (or ESRERANK_API_KEY).")
    assert "Bad-Key-123" not in key.stderr

    viewer = cli(
        "ingest",
        str(corpus),
        "--url",
        front.url,
        "--index",
        "viewer-may-not",
        "--user",
        "viewer",
        tmp_path=tmp_path,
        ESRERANK_PASSWORD="Viewer-Pass-1",
        **env,
    )
    assert one_line_error(viewer) == (
        f"error: 403 from {front.url}: 'viewer' may not run indices:admin/create on index "
        "'viewer-may-not'; ask the cluster's admin for that privilege, or log in as someone "
        "who has it."
    )

    plain_port = require_backend("elasticsearch").replace("http://", "https://")
    tls_to_plain = cli("query", QUERY, "--url", plain_port, tmp_path=tmp_path)
    assert one_line_error(tls_to_plain) == (
        f"error: {plain_port} does not speak TLS: use http:// in --url (or ESRERANK_URL)."
    )
    plain_to_tls = cli(
        "query", QUERY, "--url", front.url.replace("https://", "http://"), tmp_path=tmp_path
    )
    assert "if the cluster speaks TLS, use https://" in one_line_error(plain_to_tls)


def test_a_client_certificate_is_sent_when_asked_for(tmp_path):
    with HttpsFront(
        require_backend("elasticsearch"), users={"elastic": "pw-12345"}, client_ca=True
    ) as mtls:
        login = {"user": "elastic", "password": "pw-12345", "ca_certs": mtls.ca_path}
        with pytest.raises(BackendError, match="client certificate.*client_cert and client_key"):
            open_backend(Cluster(mtls.url, **login), tmp_path)
        backend = open_backend(
            Cluster(
                mtls.url,
                client_cert=mtls.client_cert_path,
                client_key=mtls.client_key_path,
                **login,
            ),
            tmp_path,
        )
        assert backend.engine == "elasticsearch"


def test_api_refusals_are_typed(front, tmp_path):
    with pytest.raises(AuthenticationError):
        open_backend(
            Cluster(front.url, ca_certs=front.ca_path, user="elastic", password="nope-nope"),
            tmp_path,
        )
    backend = open_backend(
        Cluster(front.url, ca_certs=front.ca_path, user="viewer", password="Viewer-Pass-1"),
        tmp_path,
    )
    with pytest.raises(AuthorizationError, match="indices:admin/create"):
        backend.client.request("PUT", "/viewer-may-not", {})


def test_security_plugin_attach_through_tls_and_basic_auth(secured, tmp_path, sample_dir):
    cluster = Cluster(secured, user=ADMIN[0], password=ADMIN[1], ca_certs=SECURED_CA)
    backend = open_backend(cluster, tmp_path)
    index = f"secured-app-{uuid.uuid4().hex[:8]}"
    backend.client.request("PUT", f"/{index}", {"settings": {"index": {"knn": True}}})
    lines = []
    for line in (sample_dir / "corpus.jsonl").read_text().splitlines()[:20]:
        document = json.loads(line)
        lines += [{"index": {"_index": index, "_id": document["_id"]}}, {"body": document["text"]}]
    backend.client.request("POST", "/_bulk", ndjson=lines, params={"refresh": "true"})
    env = {
        "ESRERANK_URL": secured,
        "ESRERANK_USER": ADMIN[0],
        "ESRERANK_PASSWORD": ADMIN[1],
        "ESRERANK_CA_CERTS": str(SECURED_CA),
    }
    try:
        attached = cli("attach", "--index", index, "--text-field", "body", tmp_path=tmp_path, **env)
        assert attached.returncode == 0, attached.stderr
        assert " embedded=20 " in attached.stdout
        found = cli(
            "query", QUERY, "--index", index, "--no-rerank", "--json", tmp_path=tmp_path, **env
        )
        assert found.returncode == 0, found.stderr
        assert len(json.loads(found.stdout)["hits"]) == 5
    finally:
        backend.delete_index(index)


def test_serve_passes_requests_on_over_tls_with_a_client_certificate(
    tmp_path, bi_encoder, tiny_reranker
):
    """serve's proxy reaches a TLS cluster with the cluster's CA and client certificate; the
    application's own login travels with its request; a TLS failure is a 503 naming it."""
    with (
        HttpsFront(
            require_backend("elasticsearch"), users={"elastic": "pw-12345"}, client_ca=True
        ) as mtls,
        Searcher(
            None, "tls", data_dir=tmp_path, bi_encoder=bi_encoder, reranker=tiny_reranker
        ) as searcher,
    ):
        tls = {"ca_certs": mtls.ca_path}
        certificate = {"client_cert": mtls.client_cert_path, "client_key": mtls.client_key_path}
        for cluster, status, reason in (
            (Cluster(mtls.url, **tls, **certificate), 200, ""),
            (Cluster(mtls.url, **certificate), 503, "certificate verify failed"),
            (Cluster(mtls.url, **tls), 503, "cannot reach the cluster"),
        ):
            searcher.warm_up()  # as esrerank serve does before it listens
            server = Server(build_app(searcher, None, Limits(), Proxy(cluster)))
            try:
                answer = requests.get(f"{server.url}/", auth=("elastic", "pw-12345"), timeout=30)
                wrong_login = requests.get(f"{server.url}/", auth=("elastic", "nope"), timeout=30)
            finally:
                server.stop()
            assert answer.status_code == status, answer.text
            assert reason in answer.text
            if status == 200:
                assert answer.json()["version"]["number"]
                assert wrong_login.status_code == 401  # the front's refusal, passed on
