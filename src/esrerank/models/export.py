"""Exported and quantized copies of a model for ONNX Runtime and OpenVINO, built once and kept on
disk, keyed by model, role, runtime and precision.

A copy is a folder with ``tokenizer.json``, the graph (``model.onnx`` or ``model.xml``) and
``manifest.json``; ``esrerank.models.inference`` runs it with no torch. The graph takes the
tokenizer's
tensors and returns the model's final output: the cross-encoder's activated score, or the
bi-encoder's pooled sentence embedding, so any pooling a sentence-transformers model declares is
inside the graph. Exporting goes through ONNX: a shipped graph template filled with the model's
weights where one fits (``esrerank.models.templates``: no torch needed), else ``torch.onnx.export``.
OpenVINO reads that file,
and int8 is ONNX Runtime's dynamic quantization or NNCF's post-training quantization calibrated on
the pairs in ``calibration.jsonl`` (SciFact train claims, see ``scripts/build_calibration.py``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from importlib import resources
from pathlib import Path

from ..errors import ModelError
from .cache import cache_key, model_identity
from .runtimes import Runtime, missing_packages
from .templates import fill_template, matching_template

log = logging.getLogger(__name__)

GRAPH_FILES = {"onnx": "model.onnx", "openvino": "model.xml"}
# Bump when the layout of an exported copy changes (3: the manifest names its "runtime").
EXPORT_VERSION = 3
CALIBRATION_BATCH = 8
# Score activations applied after the graph, in float64: a sigmoid computed in bf16 or after int8
# layers squeezes nearby high scores into ties. Any other activation stays inside the graph.
ACTIVATIONS = {"Sigmoid": "sigmoid", "Identity": "identity"}


def model_cache_dir() -> Path:
    """``$ESRERANK_MODEL_CACHE``, else the XDG cache home's ``esrerank/models``."""
    explicit = os.environ.get("ESRERANK_MODEL_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "esrerank" / "models"


def exported_model(
    name: str, location: str, role: str, runtime: Runtime, cache_dir: Path | None = None
) -> Path:
    """The folder of ``name`` (loaded from ``location``) exported for ``runtime``; built on
    first use, then reused. Builds land under a temporary name and are renamed into place, so
    a crashed build is never picked up."""
    cache_dir = cache_dir or model_cache_dir()
    key = cache_key(model_identity(location), role, str(EXPORT_VERSION))[:16]
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-60:]
    folder = cache_dir / f"{slug}-{key}" / f"{runtime.name}-{runtime.precision}"
    if (folder / "manifest.json").is_file():
        return folder
    log.warning(
        "preparing the %s copy of %s (once, up to a minute); later runs load it from %s",
        runtime.describe(),
        name,
        folder,
    )
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".build-"))
    try:
        with _quiet_export():
            _build(location, role, runtime, staging)
        try:
            staging.rename(folder)
        except OSError:  # another process finished the same build first
            if not (folder / "manifest.json").is_file():
                raise
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(
            f"{role} '{name}' could not be exported for {runtime.describe()}: {exc}. "
            "Set `runtime` to torch.",
            settings=("runtime",),
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


@contextlib.contextmanager
def _quiet_export():
    """Silence the tracer's and NNCF's warnings and progress bars while exporting."""
    nncf_log = logging.getLogger("nncf")
    level = nncf_log.level
    nncf_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        nncf_log.setLevel(level)


def _build(location: str, role: str, runtime: Runtime, out: Path) -> None:
    onnx_path = out / "model.onnx"
    template = matching_template(Path(location), role)
    if template is not None:
        fields = fill_template(template, Path(location), onnx_path)
        shutil.copyfile(Path(location) / "tokenizer.json", out / "tokenizer.json")
    else:
        fields = export_with_torch(location, role, out)
    if role == "cross-encoder" and fields["width"] != 1:
        raise ModelError(
            f"cross-encoder at {location} has {fields['width']} output labels; a reranker needs "
            "exactly one relevance score."
        )
    if runtime.name == "onnx" and runtime.precision == "int8":
        _quantize_onnx(onnx_path)
    if runtime.name == "openvino":
        _to_openvino(onnx_path, out, role, runtime.precision, fields["max_length"])
    manifest = {
        "role": role,
        "runtime": runtime.name,
        "precision": runtime.precision,
        "graph": GRAPH_FILES[runtime.name],
        **fields,
        "source": str(location),
        "export_version": EXPORT_VERSION,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))


def export_with_torch(location: str, role: str, out: Path) -> dict:
    """Export the model with torch: ``out/model.onnx`` and ``out/tokenizer.json``; the manifest
    fields (inputs, width, activation, max_length, pad) of the graph."""
    if missing_packages("torch", "fp32"):
        raise ModelError(
            f"{role} at {location} has no graph template (see esrerank.models.templates), and "
            "exporting it needs torch and sentence-transformers: pip install 'esrerank[train]'."
        )
    module, tokenizer, max_length, activation = _torch_model(location, role)
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    inputs = [
        n
        for n in ("input_ids", "attention_mask", "token_type_ids")
        if n in tokenizer.model_input_names
    ]
    return {
        "inputs": inputs,
        "max_length": max_length,
        "width": _export_onnx(module, inputs, out / "model.onnx"),
        "activation": activation,
        "pad_id": tokenizer.pad_token_id or 0,
        "pad_token": tokenizer.pad_token or "[PAD]",
    }


def _torch_model(location: str, role: str):
    """The sentence-transformers model as one ``torch.nn.Module`` from tensors to output."""
    import torch

    if role == "cross-encoder":
        from sentence_transformers import CrossEncoder

        encoder = CrossEncoder(location, device="cpu")
        network, activation = encoder.model, encoder.activation_fn
        activation_name = ACTIVATIONS.get(type(activation).__name__)

        class Scores(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.network = network

            def forward(self, *tensors):
                logits = self.network(**dict(zip(names, tensors, strict=True))).logits
                return logits if activation_name else activation(logits)

        names = [
            n
            for n in ("input_ids", "attention_mask", "token_type_ids")
            if n in encoder.tokenizer.model_input_names
        ]
        return Scores().eval(), encoder.tokenizer, int(encoder.max_length or 512), activation_name

    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(location, device="cpu")

    class Embeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, *tensors):
            features = dict(zip(names, tensors, strict=True))
            return self.encoder(features)["sentence_embedding"]

    names = [
        n
        for n in ("input_ids", "attention_mask", "token_type_ids")
        if n in encoder.tokenizer.model_input_names
    ]
    return Embeddings().eval(), encoder.tokenizer, int(encoder.max_seq_length or 512), None


def _export_onnx(module, inputs: list[str], path: Path) -> int:
    """Write ``module`` as ONNX with dynamic batch and sequence axes; its output width."""
    import torch

    example = tuple(torch.ones((2, 16), dtype=torch.long) for _ in inputs)
    axes = {name: {0: "batch", 1: "sequence"} for name in inputs}
    with torch.no_grad():
        width = int(module(*example).shape[-1])
        torch.onnx.export(
            module,
            example,
            str(path),
            input_names=inputs,
            output_names=["output"],
            dynamic_axes={**axes, "output": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    return width


def _quantize_onnx(path: Path) -> None:
    """ONNX Runtime's dynamic int8 (no calibration): weights int8, activations per batch."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantized = path.with_name("model.int8.onnx")
    quantize_dynamic(str(path), str(quantized), weight_type=QuantType.QInt8, per_channel=True)
    quantized.replace(path)


def _to_openvino(onnx_path: Path, out: Path, role: str, precision: str, max_length: int) -> None:
    import openvino as ov

    model = ov.convert_model(str(onnx_path))
    if precision == "int8":
        model = _quantize_openvino(model, out, role, max_length)
    ov.save_model(model, str(out / "model.xml"), compress_to_fp16=False)
    onnx_path.unlink()


def _quantize_openvino(model, out: Path, role: str, max_length: int):
    """NNCF post-training int8 (weights and activations) for transformers, calibrated on
    the bundled (query, passage) pairs tokenized as the model will see them."""
    import nncf

    from .inference import Tokenized

    tokenizer = Tokenized(out / "tokenizer.json", max_length, 0, "[PAD]")
    pairs = calibration_pairs()
    inputs = [i.get_any_name() for i in model.inputs]
    batches = []
    for begin in range(0, len(pairs), CALIBRATION_BATCH):
        part = pairs[begin : begin + CALIBRATION_BATCH]
        texts = part if role == "cross-encoder" else [t for pair in part for t in pair]
        batches.append(tokenizer.encode(texts, inputs))
    return nncf.quantize(
        model,
        nncf.Dataset(batches),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(batches),
    )


def calibration_pairs() -> list[tuple[str, str]]:
    """The (query, passage) pairs shipped for calibrating int8 models."""
    text = (resources.files(__package__) / "calibration.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [(row["query"], row["passage"]) for row in rows]


def load_exported(name: str, role: str, runtime: Runtime, max_length: int | None = None):
    """``name`` resolved as any model is (``esrerank.models.hub``), exported for ``runtime`` on
    first use and compiled: an ``ExportedModel``."""
    from .hub import load_model
    from .inference import ExportedModel

    def load(location: str) -> ExportedModel:
        folder = exported_model(name, _downloaded(location), role, runtime)
        return ExportedModel(folder, max_length)

    return load_model(name, role, load)


def _downloaded(location: str) -> str:
    """A local folder for ``location``: a hub name is downloaded (once, into the Hugging Face
    cache) so that its files can be exported."""
    if Path(location).is_dir():
        return location
    from huggingface_hub import snapshot_download

    return snapshot_download(location)
