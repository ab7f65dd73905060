"""Shared fixtures. Models never download in tests: the hub is switched off here."""

from __future__ import annotations

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True, scope="session")
def _model_cache(tmp_path_factory):
    """Exported models go to a folder of this session, not the user's cache."""
    os.environ["ESRERANK_MODEL_CACHE"] = str(tmp_path_factory.mktemp("model-cache"))
    yield
