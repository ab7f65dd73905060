"""docker/compose.yml parses and names the ports and versions the code and scripts expect."""

import re
from pathlib import Path

import yaml

from esrerank.backends import SUPPORTED
from tests.integration.conftest import ENGINE_URLS

ROOT = Path(__file__).parents[2]


def script_default(variable: str) -> str:
    """The default of ``VARIABLE="${ESRERANK_VARIABLE:-default}"`` in scripts/engines.sh."""
    text = (ROOT / "scripts" / "engines.sh").read_text()
    return re.search(rf'^{variable}="\$\{{ESRERANK_{variable}:-([^}}]+)\}}"', text, re.M).group(1)


def test_compose_matches_engine_script_and_test_urls():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"opensearch", "elasticsearch", "esrerank", "serve"}

    expected = {
        "opensearch": (
            "opensearchproject/opensearch",
            script_default("OS_VERSION"),
            script_default("OS_PORT"),
        ),
        "elasticsearch": (
            "docker.elastic.co/elasticsearch/elasticsearch",
            script_default("ES_VERSION"),
            script_default("ES_PORT"),
        ),
    }
    for name, (image, version, port) in expected.items():
        service = services[name]
        assert service["image"] == f"{image}:{version}"
        assert int(version.split(".")[0]) in SUPPORTED[name]
        assert f"{port}:9200" in service["ports"]
        assert ENGINE_URLS[name].endswith(f":{port}")
        assert service["environment"]["discovery.type"] == "single-node"

    cli = services["esrerank"]
    assert cli["environment"]["ESRERANK_URL"] == "http://opensearch:9200"
    assert (ROOT / "docker" / cli["build"]["dockerfile"].split("/")[-1]).is_file()

    serve = services["serve"]
    assert serve["command"][0] == "serve" and "0.0.0.0" in serve["command"]
    assert "ESRERANK_SERVER_API_KEY" in serve["environment"]  # required beyond loopback
    assert serve["environment"]["ESRERANK_URL"] == "http://opensearch:9200"
    assert "serve" in (ROOT / "docker" / "Dockerfile").read_text().split(".[")[1].split("]")[0]
