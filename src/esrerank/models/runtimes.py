"""Where a model runs: torch (sentence-transformers), ONNX Runtime or OpenVINO, at a precision.

``auto`` is, per role, the fastest route measured to keep fp32's results: OpenVINO bf16 for the
bi-encoder (benchmarks/results/rerank-speed-*.md), and for the cross-encoder OpenVINO
``bf16-checked``: bf16 scores, with the passages whose final order bf16's error leaves in doubt
scored again at fp32 (``esrerank.fusion.final_order.Check``; benchmarks/results/rerank-cost-*.md).
bf16
alone changes the final top 5 on up to 3% of queries, int8 on up to 22%. A route whose package is
missing falls back to torch fp32 with a warning, so an install without the runtimes still works.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass

from ..errors import ConfigError

log = logging.getLogger(__name__)

AUTO = "auto"
# A cross-encoder route: bf16, checked against fp32 where its error could change the final order.
CHECKED = "bf16-checked"
PRECISIONS = {
    "torch": ("fp32", "bf16"),
    "onnx": ("fp32", "int8"),
    "openvino": ("fp32", "bf16", "int8", CHECKED),
}
RUNTIME_NAMES = tuple(PRECISIONS)
PRECISION_NAMES = ("fp32", "bf16", "int8", CHECKED)
# What each route needs: onnx writes the graph, the runtime runs it, NNCF quantizes for
# OpenVINO int8; torch (the `train` extra) runs the torch route and exports models that have
# no graph template.
PACKAGES = {
    ("torch", "fp32"): ("torch", "sentence_transformers"),
    ("torch", "bf16"): ("torch", "sentence_transformers"),
    ("onnx", "fp32"): ("onnx", "onnxruntime"),
    ("onnx", "int8"): ("onnx", "onnxruntime"),
    ("openvino", "fp32"): ("onnx", "openvino"),
    ("openvino", "bf16"): ("onnx", "openvino"),
    ("openvino", "int8"): ("onnx", "openvino", "nncf"),
    ("openvino", CHECKED): ("onnx", "openvino"),
}
DEFAULT_RUNTIME = "openvino"
DEFAULTS = {"cross-encoder": ("openvino", CHECKED), "bi-encoder": ("openvino", "bf16")}


@dataclass(frozen=True)
class Runtime:
    """A runtime (torch, onnx, openvino) and a precision; ``auto`` in either picks the fastest
    route installed."""

    name: str = AUTO
    precision: str = AUTO

    def __post_init__(self) -> None:
        if self.name != AUTO and self.name not in PRECISIONS:
            raise ConfigError(
                f"Unknown `runtime` '{self.name}'. Choose one of: auto, "
                f"{', '.join(RUNTIME_NAMES)}.",
                settings=("runtime",),
            )
        allowed = PRECISIONS[DEFAULT_RUNTIME if self.name == AUTO else self.name]
        if self.precision != AUTO and self.precision not in allowed:
            raise ConfigError(
                f"Precision '{self.precision}' is not available with runtime '{self.name}'. "
                f"Choose one of: auto, {', '.join(allowed)}."
            )

    def for_device(self, device: str | None) -> Runtime:
        """On a GPU (``device`` other than the CPU) ``auto`` means torch: the CPU routes are
        what this module speeds up."""
        if device in (None, "cpu") or self.name != AUTO:
            return self
        return Runtime("torch", "fp32" if self.precision == AUTO else self.precision)

    def resolve(self, role: str) -> Runtime:
        """The concrete route to run ``role`` on: ``auto`` filled in with the role's default
        (a precision the runtime lacks becomes fp32), and torch fp32 where the route's packages
        are missing (with a warning naming what to install)."""
        default_runtime, default_precision = DEFAULTS[role]
        name = default_runtime if self.name == AUTO else self.name
        precision = self.precision
        if precision == AUTO:
            precision = default_precision if default_precision in PRECISIONS[name] else "fp32"
        if precision == CHECKED and role != "cross-encoder":
            precision = "bf16"  # only a final order has ties to check
        missing = missing_packages(name, precision)
        if missing and name == "torch":
            raise ConfigError(
                f"torch {precision} needs {' and '.join(missing)}, which is not installed: "
                "pip install 'esrerank[train]', or set `runtime` to openvino.",
                settings=("runtime",),
            )
        if missing:
            fallback = "torch fp32" if not missing_packages("torch", "fp32") else None
            if fallback is None:
                raise ConfigError(
                    f"{name} {precision} needs {' and '.join(missing)}, which is not "
                    f"installed: pip install {' '.join(missing)}, or choose another `runtime`.",
                    settings=("runtime",),
                )
            log.warning(
                "%s %s needs %s, which is not installed; running torch fp32 instead "
                "(pip install %s, or pip install 'esrerank[runtimes]').",
                name,
                precision,
                " and ".join(missing),
                " ".join(missing),
            )
            return Runtime("torch", "fp32")
        return Runtime(name, precision)

    def describe(self) -> str:
        return f"{self.name} {self.precision}"

    @property
    def checked(self) -> bool:
        """A fast route whose doubtful scores the exact route settles (``draft``, ``exact``)."""
        return self.precision == CHECKED

    @property
    def draft(self) -> Runtime:
        return Runtime(self.name, "bf16") if self.checked else self

    @property
    def exact(self) -> Runtime:
        return Runtime(self.name, "fp32") if self.checked else self


def missing_packages(name: str, precision: str) -> list[str]:
    """The Python packages that runtime ``name`` at ``precision`` needs and cannot import."""
    needed = PACKAGES.get((name, precision), ())
    return [package for package in needed if importlib.util.find_spec(package) is None]


def torch_precision(runtime: Runtime):
    """A context in which torch computes at ``runtime``'s precision (bf16 autocast or none)."""
    import contextlib

    if runtime.name == "torch" and runtime.precision == "bf16":
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()
