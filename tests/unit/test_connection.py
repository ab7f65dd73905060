"""``Cluster``: URL credentials, Cloud IDs, one login at a time, TLS files, and secrets that never
show."""

from __future__ import annotations

import base64
import logging

import pytest

from esrerank import Cluster, ConfigError
from esrerank.backends.connection import client_options
from esrerank.backends.redaction import RedactingFilter, redact


def test_credentials_in_the_url_move_out_of_it_and_stay_secret():
    cluster = Cluster("https://elastic:s3cr%40t-pw@search.example.com:9243/")
    assert cluster.url == "https://search.example.com:9243"
    assert (cluster.user, cluster.password) == ("elastic", "s3cr@t-pw")
    assert "s3cr@t-pw" not in repr(cluster)
    assert redact("auth failed for s3cr@t-pw") == "auth failed for ***"
    assert redact("see https://bob:pw@host:9200/x") == "see https://host:9200/x"


def test_a_cloud_id_names_the_deployment():
    encoded = base64.b64encode(b"europe-west1.gcp.cloud.es.io:443$abc123$kib456").decode()
    cluster = Cluster.from_cloud_id(f"my-deployment:{encoded}", api_key="id:key-value")
    assert cluster.url == "https://abc123.europe-west1.gcp.cloud.es.io:443"
    no_port = base64.b64encode(b"us-east-1.aws.found.io$es1$kb1").decode()
    assert Cluster.from_cloud_id(f"x:{no_port}").url == "https://es1.us-east-1.aws.found.io:443"
    with pytest.raises(ConfigError, match="is not an Elastic Cloud ID") as caught:
        Cluster.from_cloud_id("deployment:not base64!")
    assert caught.value.settings == ("cloud_id",)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"user": "a", "password": "b", "api_key": "k"}, "Give one way to log in"),
        ({"bearer_token": "t", "aws_region": "eu-west-1"}, "Give one way to log in"),
        ({"user": "a"}, "Basic auth needs both user and password"),
        ({"password": "b"}, "Basic auth needs both user and password"),
        ({"aws_service": "s3"}, "aws_service 's3' is not one of es"),
        ({"ca_certs": "/nowhere/ca.pem"}, "ca_certs file /nowhere/ca.pem does not exist"),
    ],
)
def test_settings_that_cannot_work_are_named(options, message):
    with pytest.raises(ConfigError, match=message):
        Cluster("https://localhost:9200", **options)


def test_tls_files_on_a_plain_url_and_a_key_without_its_certificate(tmp_path):
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match="ca_certs apply to TLS, but url http://h:9200 is plain"):
        Cluster("http://h:9200", ca_certs=pem)
    with pytest.raises(ConfigError, match="client_key needs client_cert"):
        Cluster("https://h:9200", client_key=pem)


def test_empty_settings_from_the_environment_set_nothing():
    cluster = Cluster("http://h:9200", user="", password="", api_key="")
    assert client_options(cluster) == {}


def test_each_login_becomes_the_clients_options(tmp_path, monkeypatch, caplog):
    assert client_options(Cluster("http://h", user="u", password="pw-1"))["http_auth"] == (
        "u",
        "pw-1",
    )
    key = client_options(Cluster("http://h", api_key="key-id:key-secret"))["headers"]
    assert key == {"authorization": "ApiKey a2V5LWlkOmtleS1zZWNyZXQ="}
    assert redact("header a2V5LWlkOmtleS1zZWNyZXQ=") == "header ***"
    bearer = client_options(Cluster("http://h", bearer_token="tok-123"))["headers"]
    assert bearer == {"authorization": "Bearer tok-123"}
    with caplog.at_level(logging.WARNING):
        insecure = client_options(Cluster("https://h", insecure=True))
    assert insecure["verify_certs"] is False and "checks are off for https://h" in caplog.text


def test_sigv4_signs_with_the_standard_credential_chain(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    signer = client_options(
        Cluster(
            "https://search-x.eu-west-1.es.amazonaws.com",
            aws_region="eu-west-1",
            aws_service="aoss",
        )
    )["http_auth"]
    headers = signer("GET", "https://search-x.eu-west-1.es.amazonaws.com/", None)
    assert (
        headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        and "/eu-west-1/aoss/aws4_request" in headers["Authorization"]
    )


def test_no_aws_credentials_is_one_clear_error(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ConfigError, match="No AWS credentials found"):
        client_options(Cluster("https://h", aws_region="eu-west-1"))


def test_log_records_are_masked():
    Cluster("http://h", user="u", password="hunter2-pw")
    record = logging.LogRecord("x", logging.INFO, "", 0, "login with %s", ("hunter2-pw",), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "login with ***"
