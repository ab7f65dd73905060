"""Graph templates: exporting models of a known architecture with no torch installed.

A template is the ONNX graph that ``esrerank.models.export`` writes for a model, with the model's
weights taken out (a few hundred kB instead of 90 MB), and a record of where each weight comes
from: a tensor of the model's ``model.safetensors``, as it is or transposed (the exporter folds
``Linear`` weights into transposed constants). Filling a template with a model's weights, read by
``safetensors`` with numpy, gives the same graph torch would export, so the default bi-encoder,
the bundled reranker, and any model sharing their architecture, pooling and activation (a
fine-tune of either) are exported without torch. Other models are exported with torch.

Templates ship in ``esrerank/models/graph_templates`` and are built by
``scripts/build_graph_templates.py``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import ModelError

WEIGHTS_FILE = "model.safetensors"
# What shapes the graph: two models that agree on these (and on their weights' shapes) have the
# same graph with different numbers in it.
ARCHITECTURE_KEYS = (
    "architectures",
    "model_type",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "max_position_embeddings",
    "type_vocab_size",
    "vocab_size",
    "layer_norm_eps",
    "position_embedding_type",
)


def template_folder() -> Path:
    return Path(str(resources.files(__package__) / "graph_templates"))


def fingerprint(location: Path, role: str) -> dict | None:
    """What of the model folder decides its graph, or ``None`` when the folder lacks the files
    a template needs (a single ``model.safetensors``, sentence-transformers' configs)."""
    try:
        config = _json(location / "config.json")
        if not (location / WEIGHTS_FILE).is_file():
            return None
        found = {key: config.get(key) for key in ARCHITECTURE_KEYS}
        found["labels"] = len(config.get("id2label") or {})
        if role == "cross-encoder":
            settings = _json(location / "config_sentence_transformers.json")
            activation = settings.get("activation_fn") or config.get(
                "sentence_transformers", {}
            ).get("activation_fn")
            found["activation"] = str(activation).rsplit(".", 1)[-1]
        else:
            modules = _json(location / "modules.json")
            found["modules"] = [m["type"].rsplit(".", 1)[-1] for m in modules]
            found["pooling"] = [
                _json(location / m["path"] / "config.json")
                for m in modules
                if m["type"].endswith("Pooling")
            ]
            found["max_seq_length"] = _json(location / "sentence_bert_config.json").get(
                "max_seq_length"
            )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return found


def matching_template(location: Path, role: str) -> Path | None:
    """The shipped template (its ``.json``) for the model at ``location``, if one fits."""
    found = fingerprint(location, role)
    if found is None:
        return None
    for spec in sorted(template_folder().glob("*.json")):
        template = _json(spec)
        if template["role"] == role and template["fingerprint"] == found:
            return spec
    return None


def fill_template(spec: Path, location: Path, onnx_path: Path) -> dict:
    """Write the template's graph with the weights of ``location`` to ``onnx_path``; return the
    manifest fields the template recorded (inputs, width, activation, max_length, pad)."""
    import onnx
    from onnx import numpy_helper
    from safetensors.numpy import load_file

    template = _json(spec)
    graph = onnx.load(str(spec.with_suffix(".onnx")))
    weights = load_file(str(location / WEIGHTS_FILE))
    for name, (key, transposed, shape) in template["weights"].items():
        if key not in weights:
            raise ModelError(f"{location / WEIGHTS_FILE} has no tensor '{key}'.")
        array = weights[key].astype(np.float32)
        array = np.ascontiguousarray(array.T if transposed else array)
        if list(array.shape) != shape:
            raise ModelError(
                f"{location / WEIGHTS_FILE}: tensor '{key}' has shape {list(array.shape)}, "
                f"the architecture needs {shape}."
            )
        graph.graph.initializer.append(numpy_helper.from_array(array, name))
    onnx.save(graph, str(onnx_path))
    return template["manifest"]


def save_template(
    onnx_path: Path, location: Path, role: str, manifest: dict, out: Path
) -> tuple[int, int]:
    """Write ``out``.onnx (the graph without the model's weights) and ``out``.json (where each
    comes from), from a graph exported by torch; the counts of weights taken out and kept."""
    import onnx
    from onnx import numpy_helper
    from safetensors.numpy import load_file

    sources: dict[tuple, tuple[str, bool]] = {}
    for key, tensor in load_file(str(location / WEIGHTS_FILE)).items():
        array = tensor.astype(np.float32)
        sources.setdefault((array.shape, array.tobytes()), (key, False))
        if array.ndim == 2:
            flipped = np.ascontiguousarray(array.T)
            sources.setdefault((flipped.shape, flipped.tobytes()), (key, True))
    graph = onnx.load(str(onnx_path))
    weights, kept = {}, []
    for initializer in graph.graph.initializer:
        array = numpy_helper.to_array(initializer)
        source = sources.get((array.shape, array.astype(np.float32).tobytes()))
        if source is not None and array.dtype == np.float32:
            weights[initializer.name] = [*source, list(array.shape)]
        else:
            kept.append(initializer)
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(kept)
    onnx.save(graph, str(out.with_suffix(".onnx")))
    record = {
        "role": role,
        "fingerprint": fingerprint(location, role),
        "manifest": manifest,
        "weights": weights,
    }
    out.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    return len(weights), len(kept)


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
