"""plugin/opensearch/wire.py's deploy loop against an in-memory ml-commons: a model some node
failed its part of is deployed again, and one that never deploys ends in one clear error."""

from __future__ import annotations

import pytest

from tests.wire import load_wire


class MlCommons:
    """The model APIs ``deployed_model`` calls; each deploy reports the next of ``outcomes``."""

    def __init__(self, outcomes: list[str]) -> None:
        self.outcomes = outcomes
        self.deploys = 0
        self.state = "REGISTERED"
        self.transport = self

    def perform_request(self, method: str, path: str, body: dict | None = None) -> dict:
        if path.endswith("/connectors/_create"):
            return {"connector_id": "c1"}
        if path.endswith("/models/_register"):
            return {"model_id": "m1"}
        if path.endswith("/_deploy"):
            self.state = self.outcomes[min(self.deploys, len(self.outcomes) - 1)]
            self.deploys += 1
            return {"task_id": f"t{self.deploys}"}
        return {"model_state": self.state}


@pytest.fixture
def wire(monkeypatch):
    module = load_wire()
    monkeypatch.setattr(module, "DEPLOY_RETRY_SECONDS", 0)
    monkeypatch.setattr(module, "DEPLOY_TIMEOUT", 2)  # a loop that never ends fails instead
    monkeypatch.setattr(module.time, "sleep", lambda seconds: None)
    return module


@pytest.mark.parametrize("failed", ["PARTIALLY_DEPLOYED", "DEPLOY_FAILED"])
def test_a_model_a_node_failed_is_deployed_again(wire, failed):
    ml = MlCommons([failed, "DEPLOYED"])
    assert wire.deployed_model(ml, {"name": "x"}, "x") == "m1"
    assert ml.deploys == 2


def test_a_model_that_never_deploys_ends_in_one_error(wire, monkeypatch):
    monkeypatch.setattr(wire, "DEPLOY_TIMEOUT", 0)
    with pytest.raises(RuntimeError, match="model m1 was not deployed in 0 s"):
        wire.deployed_model(MlCommons(["DEPLOYING"]), {"name": "x"}, "x")
