"""Bad input and bad flags, through the real command: one line, no traceback, exit 1 or 2.

None of these loads a model: each fails before one is needed.
"""

import pytest

from tests.cli import run_cli


def run(*args, tmp_path):
    return run_cli(*args, data_dir=tmp_path / "store")


def one_line_error(result, code, pattern):
    import re

    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    if code == 1:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert re.search(pattern, lines[0]), lines[0]
    else:
        assert re.search(pattern, result.stderr), result.stderr


def test_missing_file(tmp_path):
    one_line_error(
        run("ingest", str(tmp_path / "nope.jsonl"), tmp_path=tmp_path),
        1,
        r"^error: Corpus file '.*nope\.jsonl' not found",
    )


def test_malformed_jsonl_names_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"_id": "1", "text": "ok"}\n{"_id": 2, \n')
    one_line_error(run("ingest", str(path), tmp_path=tmp_path), 1, r"bad\.jsonl:2: invalid JSON")


def test_document_without_text(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('[{"id": "1", "body": "x"}]')
    one_line_error(
        run("ingest", str(path), tmp_path=tmp_path),
        1,
        r"c\.json:1: document '1' has no 'text' field",
    )


def test_empty_corpus(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    one_line_error(run("ingest", str(path), tmp_path=tmp_path), 1, r"holds no documents")


def test_unreachable_cluster_shows_url(tmp_path):
    one_line_error(
        run("query", "x", "--url", "http://127.0.0.1:9", tmp_path=tmp_path),
        1,
        r"Cannot reach the cluster at http://127\.0\.0\.1:9",
    )


def test_missing_index_suggests_ingest(tmp_path):
    one_line_error(
        run("query", "x", "--index", "absent", "--no-rerank", tmp_path=tmp_path),
        1,
        r"Index 'absent' not found.*esrerank ingest FILE --index absent",
    )


def test_missing_model_names_it(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"_id": "1", "text": "x"}\n')
    result = run("ingest", str(path), "--bi-encoder", "someone/missing-model", tmp_path=tmp_path)
    one_line_error(result, 1, r"bi-encoder 'someone/missing-model' not found.*--bi-encoder PATH")


@pytest.mark.parametrize(
    "args",
    [
        ["query", "x", "--fusion", "rrf", "--combination", "geometric"],
        ["query", "x", "--fusion", "min_max", "--rrf-k", "10"],
        ["query", "x", "--fusion", "z_score", "--combination", "harmonic"],
        ["query", "x", "--no-rerank", "--reranker", "some/model"],
        ["query", "x", "--weights", "1"],
        ["query", "x", "--top-k", "0"],
        ["ingest", "f.jsonl", "--chunk-size", "10", "--chunk-overlap", "10"],
        ["train", "--encoder", "cross", "--output", "out"],
    ],
)
def test_invalid_option_combinations_exit_2(args, tmp_path):
    one_line_error(run(*args, tmp_path=tmp_path), 2, r"Error:")
