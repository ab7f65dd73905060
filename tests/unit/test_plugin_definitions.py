"""The in-engine pipeline is set like esrerank's default fusion."""

import json
from pathlib import Path

from esrerank import FusionSpec

PLUGIN = Path(__file__).parents[2] / "plugin"


def test_opensearch_pipeline_matches_default_fusion():
    pipeline = json.loads((PLUGIN / "opensearch" / "hybrid-pipeline.json").read_text())
    [processor] = pipeline["phase_results_processors"]
    settings = processor["normalization-processor"]
    default = FusionSpec()
    assert settings["normalization"]["technique"] == default.method
    assert settings["combination"]["technique"] == f"{default.combination}_mean"
    assert tuple(settings["combination"]["parameters"]["weights"]) == default.weights
