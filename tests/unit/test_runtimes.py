"""Choosing where a model runs: validation, the per-role defaults, and the fallback to torch."""

from __future__ import annotations

import logging

import pytest

from esrerank.errors import ConfigError
from esrerank.models import runtimes
from esrerank.models.runtimes import Runtime


def test_auto_is_openvino_checked_bf16_for_the_reranker_and_bf16_for_the_bi_encoder():
    assert Runtime().resolve("cross-encoder") == Runtime("openvino", "bf16-checked")
    assert Runtime().resolve("bi-encoder") == Runtime("openvino", "bf16")
    assert Runtime("auto", "bf16-checked").resolve("bi-encoder") == Runtime("openvino", "bf16")


def test_a_checked_route_drafts_in_bf16_and_settles_in_fp32():
    checked = Runtime("openvino", "bf16-checked")
    assert (checked.draft, checked.exact) == (
        Runtime("openvino", "bf16"),
        Runtime("openvino", "fp32"),
    )
    assert Runtime("openvino", "fp32").exact == Runtime("openvino", "fp32")
    assert not Runtime("openvino", "bf16").checked


def test_auto_precision_is_the_role_default_where_the_runtime_has_it_else_fp32():
    assert Runtime("onnx").resolve("bi-encoder") == Runtime("onnx", "fp32")
    assert Runtime("torch").resolve("bi-encoder") == Runtime("torch", "bf16")
    assert Runtime("auto", "int8").resolve("cross-encoder") == Runtime("openvino", "int8")
    assert Runtime("onnx").resolve("cross-encoder") == Runtime("onnx", "fp32")


@pytest.mark.parametrize(
    ("name", "precision", "message"),
    [
        ("tensorrt", "auto", "Unknown runtime 'tensorrt'"),
        ("onnx", "bf16", "Precision 'bf16' is not available with runtime 'onnx'"),
        ("torch", "int8", "Choose one of: auto, fp32, bf16"),
    ],
)
def test_bad_routes_say_what_to_choose(name, precision, message):
    with pytest.raises(ConfigError, match=message):
        Runtime(name, precision)


def test_a_missing_runtime_falls_back_to_torch_fp32_and_says_what_to_install(monkeypatch, caplog):
    monkeypatch.setattr(
        runtimes.importlib.util,
        "find_spec",
        lambda name: None if name == "openvino" else object(),
    )
    with caplog.at_level(logging.WARNING):
        assert Runtime().resolve("cross-encoder") == Runtime("torch", "fp32")
    assert "openvino bf16-checked needs openvino" in caplog.text
    assert "pip install openvino" in caplog.text


@pytest.mark.parametrize(
    ("route", "missing", "message"),
    [
        (Runtime("torch"), {"torch"}, r"torch fp32 needs torch.*pip install 'esrerank\[train\]'"),
        (Runtime(), {"openvino", "torch"}, "bf16-checked needs openvino.*pip install openvino"),
    ],
)
def test_without_torch_a_missing_route_is_an_error_that_says_what_to_install(
    monkeypatch, route, missing, message
):
    monkeypatch.setattr(
        runtimes.importlib.util,
        "find_spec",
        lambda name: None if name in missing else object(),
    )
    with pytest.raises(ConfigError, match=message):
        route.resolve("cross-encoder")


def test_on_a_gpu_auto_means_torch():
    assert Runtime().for_device("cuda") == Runtime("torch", "fp32")
    assert Runtime().for_device("cpu") == Runtime()
    assert Runtime("onnx").for_device("cuda") == Runtime("onnx")


def test_describe_names_runtime_and_precision():
    assert Runtime("openvino", "int8").describe() == "openvino int8"
