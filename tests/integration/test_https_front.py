"""The HTTPS front answers like an Elasticsearch with security on: TLS, credentials, client
certificates, read-only users; whatever it lets through reaches the test Elasticsearch."""

from __future__ import annotations

import uuid

import pytest
import requests

from .conftest import require_backend
from .https_front import HttpsFront

pytestmark = pytest.mark.integration

USERS = {"elastic": "Esrerank-Elastic-1", "viewer": "Esrerank-Viewer-1"}
ELASTIC = ("elastic", USERS["elastic"])
CHALLENGES = ['Basic realm="security", charset="UTF-8"', 'Bearer realm="security"', "ApiKey"]


def unauthenticated(reason: str) -> dict:
    """The body of Elasticsearch 8's 401."""
    cause = {
        "type": "security_exception",
        "reason": reason,
        "header": {"WWW-Authenticate": CHALLENGES},
    }
    return {"error": {"root_cause": [cause], **cause}, "status": 401}


@pytest.fixture(scope="module")
def upstream() -> str:
    return require_backend("elasticsearch")


@pytest.fixture
def front(upstream):
    with HttpsFront(
        upstream,
        users=USERS,
        api_keys={"key-1"},
        bearer_tokens={"token-1"},
        read_only_users={"viewer"},
    ) as front:
        yield front


def test_basic_auth_gets_the_root_answer_of_elasticsearch(front, upstream):
    answer = requests.get(front.url, auth=ELASTIC, verify=front.ca_path, timeout=10)
    assert answer.status_code == 200
    assert answer.json() == requests.get(upstream, timeout=10).json()


def test_wrong_password_is_refused_like_elasticsearch(front):
    answer = requests.get(front.url, auth=("elastic", "wrong"), verify=front.ca_path, timeout=10)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == ", ".join(CHALLENGES)
    reason = "unable to authenticate user [elastic] for REST request [/]"
    assert answer.json() == unauthenticated(reason)


def test_no_credentials_is_refused(front):
    answer = requests.get(front.url, verify=front.ca_path, timeout=10)
    assert answer.status_code == 401
    reason = "missing authentication credentials for REST request [/]"
    assert answer.json() == unauthenticated(reason)


@pytest.mark.parametrize(
    ("authorization", "status"),
    [("ApiKey key-1", 200), ("Bearer token-1", 200), ("ApiKey key-2", 401), ("Bearer x", 401)],
)
def test_api_keys_and_bearer_tokens(front, authorization, status):
    headers = {"Authorization": authorization}
    answer = requests.get(front.url, headers=headers, verify=front.ca_path, timeout=10)
    assert answer.status_code == status


def test_plain_http_and_an_untrusted_ca_fail(front):
    with pytest.raises(requests.ConnectionError):
        requests.get(front.url.replace("https:", "http:"), auth=ELASTIC, timeout=10)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(front.url, auth=ELASTIC, timeout=10)


def test_requests_reach_elasticsearch_unchanged(front):
    index = f"front-{uuid.uuid4().hex[:8]}"
    session = requests.Session()
    session.auth = ELASTIC
    session.verify = front.ca_path
    session.trust_env = False  # else REQUESTS_CA_BUNDLE would win over session.verify
    try:
        assert session.put(f"{front.url}/{index}", timeout=30).status_code == 200
        created = session.post(
            f"{front.url}/{index}/_doc/1?refresh=true", json={"text": "hello"}, timeout=10
        )
        assert created.status_code == 201
        query = {"query": {"match": {"text": "hello"}}}
        found = session.post(f"{front.url}/{index}/_search", json=query, timeout=10)
        assert found.json()["hits"]["total"]["value"] == 1
        head = session.head(f"{front.url}/{index}", timeout=10)
        assert (head.status_code, head.content) == (200, b"")
    finally:
        session.delete(f"{front.url}/{index}", timeout=30)
    assert session.head(f"{front.url}/{index}", timeout=10).status_code == 404
    assert ("POST", f"/{index}/_doc/1?refresh=true") in [r[:2] for r in front.requests]
    assert {headers["Authorization"] for _, _, headers in front.requests} == {"Basic"}


def test_read_only_user_searches_but_cannot_create_an_index(front):
    viewer = ("viewer", USERS["viewer"])
    index = f"front-{uuid.uuid4().hex[:8]}"
    answer = requests.put(f"{front.url}/{index}", auth=viewer, verify=front.ca_path, timeout=10)
    assert answer.status_code == 403
    reason = answer.json()["error"]["root_cause"][0]["reason"]
    assert reason == (
        f"action [indices:admin/create] is unauthorized for user [viewer] with effective roles "
        f"[viewer] on indices [{index}], this action is granted by the index privileges "
        "[create_index,manage,all]"
    )
    search = requests.post(
        f"{front.url}/_search", json={"size": 0}, auth=viewer, verify=front.ca_path, timeout=10
    )
    assert search.status_code == 200


def test_client_certificate_is_required_when_asked(upstream):
    with HttpsFront(upstream, users=USERS, client_ca=True) as front:
        with pytest.raises(requests.ConnectionError):
            requests.get(front.url, auth=ELASTIC, verify=front.ca_path, timeout=10)
        answer = requests.get(
            front.url,
            auth=ELASTIC,
            verify=front.ca_path,
            cert=(front.client_cert_path, front.client_key_path),
            timeout=10,
        )
        assert answer.status_code == 200
