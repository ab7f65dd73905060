"""Bad input and bad flags, through the real command in a subprocess: one line, no traceback,
exit 1 or 2.

Few of these load a model: most fail before one is needed.
"""

import pytest

from tests.cli import run_cli
from tests.recorded_engine import answers_one_search_late, recorded_engine


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
    one_line_error(
        result,
        1,
        r"bi-encoder 'someone/missing-model' not found.*Set --bi-encoder to a local "
        r"model folder",
    )


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


def train(*args, tmp_path):
    return run("train", "--output", str(tmp_path / "model"), *args, tmp_path=tmp_path)


def train_on_qrels(judgements, tmp_path):
    """``train --queries --qrels`` with one query ('1') and the given qrels lines."""
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"_id": "1", "text": "a claim"}\n')
    qrels = tmp_path / "train.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\n" + judgements)
    return train(
        "--encoder", "cross", "--queries", str(queries), "--qrels", str(qrels),
        "--mine", "bm25", "--dev-fraction", "0", tmp_path=tmp_path,
    )  # fmt: skip


def test_train_qrels_with_unknown_query(tmp_path):
    one_line_error(
        train_on_qrels("1\td1\t1\n7\td2\t1\n", tmp_path),
        1,
        r"qrels name 1 queries missing from the queries file, e\.g\. '7'",
    )


def test_train_beir_without_train_split(tmp_path):
    (tmp_path / "beir" / "qrels").mkdir(parents=True)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        (tmp_path / "beir" / name).write_text("")
    one_line_error(
        train("--encoder", "bi", "--beir", str(tmp_path / "beir"), tmp_path=tmp_path),
        1,
        r"has no train split \(qrels/train\.tsv; found: test\.tsv\)",
    )


def test_train_empty_qrels(tmp_path):
    one_line_error(train_on_qrels("", tmp_path), 1, r"train\.tsv: no judgements")


def test_train_unreadable_csv_row(tmp_path):
    csv = tmp_path / "sts.csv"
    csv.write_text("A man plays.,A man plays music.,4.2\nA dog runs.,3.1\n")
    one_line_error(
        train("--encoder", "cross", "--sts", str(csv), tmp_path=tmp_path),
        1,
        r"sts\.csv:2: expected 3 columns sentence1,sentence2,score, got 2",
    )


def test_train_output_not_writable(tmp_path):
    csv = tmp_path / "sts.csv"
    csv.write_text("A man plays.,A man plays music.,4.2\nA dog runs.,A cat sleeps.,0.4\n")
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run(
        "train",
        "--encoder",
        "cross",
        "--sts",
        str(csv),
        "--output",
        str(blocker / "model"),
        tmp_path=tmp_path,
    )
    one_line_error(result, 1, r"Output folder '.*file/model' is not writable")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--encoder", "cross"), "exactly one source of training data"),
        (("--encoder", "bi", "--sts", "x.csv"), "--sts trains a cross-encoder"),
        (("--encoder", "cross", "--pairs", "p", "--sts", "s"), "got --pairs, --sts"),
        (("--encoder", "cross", "--queries", "q"), "--queries and --qrels go together"),
        (("--encoder", "cross", "--pairs", "p", "--mine", "sparse"), "--mine takes bm25"),
    ],
)
def test_train_contradictory_options(tmp_path, args, message):
    one_line_error(train(*args, tmp_path=tmp_path), 2, message)


def test_eval_missing_folder(tmp_path):
    one_line_error(
        run("eval", str(tmp_path / "nowhere"), tmp_path=tmp_path),
        1,
        r"^error: Evaluation folder '.*nowhere' not found",
    )


def test_eval_unknown_strategy_and_lonely_tune_split(tmp_path):
    one_line_error(
        run("eval", str(tmp_path), "--strategies", "bm25,magic", tmp_path=tmp_path),
        2,
        r"Unknown strategy 'magic'. Choose from bm25, dense",
    )
    one_line_error(
        run("eval", str(tmp_path), "--tune-split", "dev", tmp_path=tmp_path),
        2,
        r"--tune-split applies only with --tune",
    )


def test_unknown_analyzer_is_refused(tmp_path):
    one_line_error(
        run("ingest", str(tmp_path / "c.jsonl"), "--analyzer", "nori", tmp_path=tmp_path),
        2,
        r"Invalid value for '--analyzer'",
    )


def test_reembed_needs_a_bi_encoder(tmp_path):
    one_line_error(run("reembed", tmp_path=tmp_path), 2, r"reembed needs --bi-encoder")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "bob"], "Error: Basic auth needs both --user and --password (or ESRERANK_"),
        (["--cloud-id", "a:b"], "Error: Give --url or --cloud-id, not both."),
        (["--ca-certs", "/nowhere.pem"], "Error: --ca-certs file /nowhere.pem does not exist."),
    ],
)
def test_login_flags_that_cannot_work_are_usage_errors(args, message, tmp_path):
    result = run_cli("query", "x", "--url", "https://127.0.0.1:1", *args, data_dir=tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_login_settings_come_from_the_config_file_too(tmp_path):
    config = tmp_path / "esrerank.toml"
    config.write_text(
        'url = "https://127.0.0.1:1"\nuser = "bob"\npassword = "pw-123"\n'
        'ca_certs = "/nowhere.pem"\n'
    )
    result = run_cli("query", "x", data_dir=tmp_path, ESRERANK_CONFIG=str(config))
    assert result.returncode == 2
    assert "--ca-certs file /nowhere.pem does not exist" in result.stderr


@pytest.mark.slow
def test_a_partial_answer_is_a_warning_line_and_strict_fails(tmp_path):
    """The engine's timed-out answer is a ``warning:`` line, and exit 1 with ``--strict``."""
    with recorded_engine() as engine:
        url = answers_one_search_late(engine)
        relaxed = run_cli("query", "vitamin D", "--no-rerank", data_dir=tmp_path,
                          ESRERANK_URL=url, ESRERANK_INDEX="idx")  # fmt: skip
        assert relaxed.returncode == 0, relaxed.stderr
        assert "warning: opensearch timed out searching 'idx'" in relaxed.stderr
        strict = run_cli("query", "vitamin D", "--no-rerank", "--strict", data_dir=tmp_path,
                         ESRERANK_URL=url, ESRERANK_INDEX="idx")  # fmt: skip
    assert strict.returncode == 1
    assert strict.stderr.strip().splitlines()[-1] == (
        "error: opensearch timed out searching 'idx': the hits may be incomplete. (--strict)"
    )
