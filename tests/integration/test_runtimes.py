"""The exported routes run the same models: fp32 copies score as torch does, the faster ones keep
the ranking close, each copy is built once, and the command line names the route that ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from esrerank.errors import ModelError
from esrerank.models import export, templates
from esrerank.models.bi_encoder import BiEncoder
from esrerank.models.hub import OFFLINE_CROSS_ENCODER, resolve_model
from esrerank.models.reranker import Reranker
from esrerank.models.runtimes import Runtime
from esrerank.models.score_memory import ScoreMemory
from tests.cli import run_cli

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def pairs(sample_dir) -> list[tuple[str, str]]:
    """Each sample query against 12 abstracts, its gold one first."""
    docs = [json.loads(line) for line in (sample_dir / "corpus.jsonl").read_text().splitlines()]
    text = {d["_id"]: f"{d['title']}\n{d['text']}" for d in docs}
    queries = [json.loads(line) for line in (sample_dir / "queries.jsonl").read_text().splitlines()]
    gold = {}
    for line in (sample_dir / "queries.qrels.tsv").read_text().splitlines()[1:]:
        query_id, doc_id, _ = line.split("\t")
        gold.setdefault(query_id, doc_id)
    others = sorted(text)[:11]
    return [
        (q["text"], text[doc])
        for q in queries[:6]
        for doc in [gold[q["_id"]], *[d for d in others if d != gold[q["_id"]]][:11]]
    ]


@pytest.fixture(scope="module")
def torch_scores(pairs) -> np.ndarray:
    return _scores(Reranker(OFFLINE_CROSS_ENCODER, runtime=Runtime("torch", "fp32")), pairs)


def _scores(reranker: Reranker, pairs) -> np.ndarray:
    return np.concatenate(
        [
            reranker.score(pairs[i][0], [p for _, p in pairs[i : i + 12]]).scores
            for i in range(0, len(pairs), 12)
        ]
    )


@pytest.mark.parametrize("route", ["onnx fp32", "openvino fp32"])
def test_fp32_copies_score_as_torch(route, pairs, torch_scores):
    reranker = Reranker(OFFLINE_CROSS_ENCODER, runtime=Runtime(*route.split()))
    assert reranker.label == f"{OFFLINE_CROSS_ENCODER} ({route})"
    np.testing.assert_allclose(_scores(reranker, pairs), torch_scores, atol=1e-4)


@pytest.mark.parametrize("route", ["openvino bf16", "openvino int8", "onnx int8"])
def test_faster_routes_keep_the_ranking_close(route, pairs, torch_scores):
    scores = _scores(Reranker(OFFLINE_CROSS_ENCODER, runtime=Runtime(*route.split())), pairs)
    assert np.abs(scores - torch_scores).max() < 0.2
    for begin in range(0, len(pairs), 12):  # the gold abstract's rank moves by at most one
        ours = int((scores[begin : begin + 12] > scores[begin]).sum())
        theirs = int((torch_scores[begin : begin + 12] > torch_scores[begin]).sum())
        assert abs(ours - theirs) <= 1, f"{route}: gold ranked {ours + 1}, torch {theirs + 1}"


def test_a_checked_route_drafts_as_bf16_settles_as_fp32_and_bounds_the_gap(pairs, torch_scores):
    checked = Reranker(OFFLINE_CROSS_ENCODER, runtime=Runtime("openvino", "bf16-checked"))
    assert checked.label == f"{OFFLINE_CROSS_ENCODER} (openvino bf16-checked)"
    bf16 = _scores(Reranker(OFFLINE_CROSS_ENCODER, runtime=Runtime("openvino", "bf16")), pairs)
    np.testing.assert_allclose(_scores(checked, pairs), torch_scores, atol=1e-4)
    drafts = np.concatenate(
        [
            checked.score(pairs[i][0], [p for _, p in pairs[i : i + 12]], draft=True).scores
            for i in range(0, len(pairs), 12)
        ]
    )
    np.testing.assert_allclose(drafts, bf16, atol=1e-6)
    gaps = np.abs(drafts - torch_scores)
    bounds = np.array([checked.draft_error(p) for p in drafts])
    assert gaps.max() > 0 and (gaps <= bounds).all()
    assert bounds.max() < 0.1  # narrow enough to leave most orders settled


def test_remembered_scores_are_the_models_own(pairs):
    memory = ScoreMemory(1000)
    reranker = Reranker(
        OFFLINE_CROSS_ENCODER, runtime=Runtime("openvino", "bf16-checked"), memory=memory
    )
    query, passages = pairs[0][0], [p for _, p in pairs[:12]]
    drafts = reranker.score(query, passages[:6], draft=True).scores
    exact = reranker.score(query, passages[3:9]).scores
    assert memory.recalled == 0 and len(memory) == 12
    fresh = Reranker(OFFLINE_CROSS_ENCODER, runtime=Runtime("openvino", "bf16-checked"))
    mixed = reranker.score(query, passages, draft=True).scores
    # exact scores stand in for drafts where the memory has them; the rest are run
    np.testing.assert_array_equal(mixed[:3], drafts[:3])
    np.testing.assert_array_equal(mixed[3:9], exact)
    np.testing.assert_allclose(mixed[9:], fresh.score(query, passages[9:], draft=True).scores)
    assert memory.recalled == 9 and len(memory) == 15
    np.testing.assert_allclose(
        reranker.score(query, passages).scores, fresh.score(query, passages).scores, atol=1e-6
    )


@pytest.mark.parametrize(
    ("route", "closest"), [("openvino fp32", 0.9999), ("openvino bf16", 0.999)]
)
def test_bi_encoder_copies_embed_as_torch(route, closest, pairs):
    texts = [passage for _, passage in pairs[:24]] + ["  spaces around  ", "x"]
    reference = BiEncoder(runtime=Runtime("torch", "fp32"))
    encoder = BiEncoder(runtime=Runtime(*route.split()))
    cosines = (encoder.encode(texts) * reference.encode(texts)).sum(axis=1)
    assert cosines.min() > closest
    assert encoder.dimension == reference.dimension == 384
    assert encoder.token_spans(texts[0]) == reference.token_spans(texts[0])


def test_a_copy_is_built_once_then_loaded(tmp_path, caplog):
    runtime = Runtime("onnx", "fp32")
    location = str(resolve_model(OFFLINE_CROSS_ENCODER, "cross-encoder"))
    with caplog.at_level("WARNING", logger="esrerank"):
        folder = export.exported_model("bundled", location, "cross-encoder", runtime, tmp_path)
    assert (folder / "model.onnx").is_file() and (folder / "tokenizer.json").is_file()
    assert "preparing the onnx fp32 copy" in caplog.text
    built = (folder / "manifest.json").stat()

    caplog.clear()
    with caplog.at_level("WARNING", logger="esrerank"):
        again = export.exported_model("bundled", location, "cross-encoder", runtime, tmp_path)
    assert again == folder and "preparing" not in caplog.text
    assert (folder / "manifest.json").stat().st_mtime_ns == built.st_mtime_ns
    # another route is another copy, beside the first
    other = export.exported_model(
        "bundled", location, "cross-encoder", Runtime("onnx", "int8"), tmp_path
    )
    assert other.parent == folder.parent and other != folder


def test_a_failed_build_leaves_nothing_behind(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")  # no architecture, no weights
    cache = tmp_path / "cache"
    with pytest.raises(ModelError, match="could not be exported for onnx fp32"):
        export.exported_model(
            "broken", str(broken), "cross-encoder", Runtime("onnx", "fp32"), cache
        )
    assert not list(cache.glob("*/.build-*")), "a failed build left its staging folder"
    assert not list(cache.glob("*/onnx-fp32")), "a failed build was taken for a copy"


def test_command_line_names_the_route_and_rejects_a_bad_one(sample_dir, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join((sample_dir / "corpus.jsonl").read_text().splitlines()[:5]) + "\n")
    store = tmp_path / "store"
    ingested = run_cli("ingest", str(corpus), "--index", "routes", data_dir=store)
    assert ingested.returncode == 0, ingested.stderr
    assert "bi-encoder sentence-transformers/all-MiniLM-L6-v2 (openvino bf16):" in ingested.stdout

    queried = run_cli(
        "query", "obesity surgery", "--index", "routes", data_dir=store, ESRERANK_RUNTIME="torch"
    )
    assert queried.returncode == 0, queried.stderr
    assert f"reranker {OFFLINE_CROSS_ENCODER} (torch fp32)" in queried.stdout
    assert "deprecated" not in queried.stderr

    old_name = run_cli(
        "query", "obesity", "--index", "routes", "--backend", "torch", data_dir=store
    )
    assert old_name.returncode == 0, old_name.stderr
    assert f"reranker {OFFLINE_CROSS_ENCODER} (torch fp32)" in old_name.stdout
    assert "--backend (ESRERANK_BACKEND" in old_name.stderr and "use --runtime" in old_name.stderr

    bad = run_cli(
        "query",
        "x",
        "--index",
        "routes",
        "--runtime",
        "onnx",
        "--precision",
        "bf16",
        data_dir=store,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "Precision 'bf16' is not available with runtime 'onnx'" in bad.stderr


WITHOUT_TORCH = """
import sys
for name in ("torch", "sentence_transformers", "transformers"):
    sys.modules[name] = None  # any import of them fails, as on an install without them
from esrerank.cli import main
sys.argv = ["esrerank", *sys.argv[1:]]
try:
    main()
finally:
    assert "torch" not in [m for m, v in sys.modules.items() if v is not None], "torch loaded"
"""


def test_ingest_and_query_run_without_torch(sample_dir, tmp_path):
    """The default bi-encoder and the bundled reranker are exported from their graph templates,
    so an install without torch ingests and reranks; a model with no template says what to
    install."""
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join((sample_dir / "corpus.jsonl").read_text().splitlines()[:8]) + "\n")
    env = {
        **os.environ,
        "ESRERANK_DATA_DIR": str(tmp_path / "store"),
        "ESRERANK_MODEL_CACHE": str(tmp_path / "models"),  # nothing exported yet
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", WITHOUT_TORCH, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )

    ingested = run("ingest", str(corpus), "--index", "no-torch")
    assert ingested.returncode == 0, ingested.stderr
    queried = run("query", "obesity surgery", "--index", "no-torch", "--json")
    assert queried.returncode == 0, queried.stderr
    result = json.loads(queried.stdout)
    assert result["reranked"] and result["reranker_runtime"] == "openvino bf16-checked"
    torch_route = run("query", "obesity", "--index", "no-torch", "--runtime", "torch")
    assert torch_route.returncode == 1 and "pip install 'esrerank[train]'" in torch_route.stderr


def test_a_template_export_matches_the_torch_export(tmp_path, pairs):
    """The bundled reranker filled into its template scores as torch's own ONNX export."""
    location = resolve_model(OFFLINE_CROSS_ENCODER, "cross-encoder")
    assert templates.matching_template(location, "cross-encoder") is not None
    assert templates.matching_template(location, "bi-encoder") is None
    filled, exported = tmp_path / "filled", tmp_path / "exported"
    filled.mkdir()
    exported.mkdir()
    spec = templates.matching_template(location, "cross-encoder")
    templates.fill_template(spec, location, filled / "model.onnx")
    fields = export.export_with_torch(str(location), "cross-encoder", exported)
    assert fields == json.loads(spec.read_text())["manifest"]
    import onnxruntime

    tokens = np.random.default_rng(3).integers(1000, 30000, size=(2, 9))
    columns = {
        "input_ids": tokens,
        "attention_mask": np.ones_like(tokens),
        "token_type_ids": np.zeros_like(tokens),
    }
    feed = {name: columns[name] for name in fields["inputs"]}
    outputs = [
        onnxruntime.InferenceSession(str(folder / "model.onnx")).run(None, feed)[0]
        for folder in (filled, exported)
    ]
    np.testing.assert_array_equal(outputs[0], outputs[1])
