"""Running an exported model (``esrerank.models.export``) with ONNX Runtime or OpenVINO, no torch.

The runtimes are the vendors' own (ONNX Runtime, OpenVINO: graph optimization and int8 kernels
for AVX-512 VNNI that torch's CPU path lacks), and tokenization is Hugging Face ``tokenizers``
(the same Rust tokenizer sentence-transformers calls, so the tensors are identical).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

Text = str | tuple[str, str]


# Padded lengths come in steps of 32 tokens, so a long-lived process sees a few input shapes
# instead of one per batch length: the runtimes' per-shape kernels and buffers stop accumulating
# (a server's memory held flat over a 10-minute load, benchmarks/results/serve-load-10min.md).
# Padding is masked, so scores do not change.
PAD_MULTIPLE = 32


class Tokenized:
    """A ``tokenizers`` tokenizer truncating to ``max_length`` (longest first) and padding to
    the longest text of each batch, rounded up to a multiple of ``PAD_MULTIPLE`` tokens."""

    def __init__(self, path: Path, max_length: int, pad_id: int, pad_token: str) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(path))
        self.tokenizer.enable_truncation(max_length, strategy="longest_first")
        # A max_length off the steps keeps plain padding: a step past it could pass the model's
        # positions.
        multiple = PAD_MULTIPLE if max_length % PAD_MULTIPLE == 0 else None
        self.tokenizer.enable_padding(
            pad_id=pad_id, pad_token=pad_token, pad_to_multiple_of=multiple
        )

    def encode(self, texts: Sequence[Text], inputs: Sequence[str]) -> dict[str, np.ndarray]:
        """The model's input tensors for ``texts`` (strings, or (query, passage) pairs)."""
        encodings = self.tokenizer.encode_batch([_stripped(t) for t in texts])
        columns = {
            "input_ids": [e.ids for e in encodings],
            "attention_mask": [e.attention_mask for e in encodings],
            "token_type_ids": [e.type_ids for e in encodings],
        }
        return {name: np.asarray(columns[name], dtype=np.int64) for name in inputs}


class ExportedModel:
    """An exported model folder, compiled for its runtime: ``run(texts)`` -> output rows."""

    def __init__(self, folder: Path, max_length: int | None = None) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        self.folder = folder
        self.manifest = manifest
        self.inputs = manifest["inputs"]
        self.tokenizer = Tokenized(
            folder / "tokenizer.json",
            max_length or manifest["max_length"],
            manifest["pad_id"],
            manifest["pad_token"],
        )
        graph = folder / manifest["graph"]
        if manifest["runtime"] == "openvino":
            self._run = _openvino(graph, manifest["precision"])
        else:
            self._run = _onnxruntime(graph)

    def run(self, texts: Sequence[Text]) -> np.ndarray:
        """The graph's output for ``texts``, with the manifest's activation applied."""
        output = self._run(self.tokenizer.encode(texts, self.inputs)).astype(np.float64)
        if self.manifest.get("activation") == "sigmoid":
            return 1.0 / (1.0 + np.exp(-output))
        return output


# OpenVINO's CPU plugin caches compiled kernels per input shape (5,000 shapes by default) and
# oneDNN its primitives (1,024): with batches padded to each batch's longest text nearly every
# search brings new shapes, so a long-lived process grew by megabytes a search. Small caches keep
# its memory flat and cost no measurable speed (benchmarks/results/serve-load.md).
SHAPE_CACHE = 16
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "128")


def _openvino(graph: Path, precision: str):
    import openvino as ov

    # int8 graphs keep some layers unquantized; bf16 runs those twice as fast as f32.
    compute = "f32" if precision == "fp32" else "bf16"
    config = {
        "INFERENCE_PRECISION_HINT": compute,
        "PERFORMANCE_HINT": "LATENCY",
        "CPU_RUNTIME_CACHE_CAPACITY": SHAPE_CACHE,
    }
    compiled = ov.Core().compile_model(str(graph), "CPU", config)
    # An infer request runs one inference at a time ("Infer Request is busy" otherwise): each
    # thread that uses the model (searches in a server, ingest's embedding worker) gets its own.
    requests = threading.local()

    def run(feed: dict[str, np.ndarray]) -> np.ndarray:
        if not hasattr(requests, "request"):
            requests.request = compiled.create_infer_request()
        return np.array(requests.request.infer(feed)[0], dtype=np.float32)

    return run


def _onnxruntime(graph: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])

    def run(feed: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(session.run(None, feed)[0], dtype=np.float32)

    return run


def _stripped(text: Text) -> Text:
    return text.strip() if isinstance(text, str) else text
