"""``esrerank judgments`` and ``eval --judgments`` from the command line on the embedded store:
the sample's qrels imported as judgments measure exactly what the same qrels measure as files;
export writes them back; bad input is one line."""

from __future__ import annotations

import json

import pytest

from tests.cli import run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STRATEGIES = ("--strategies", "bm25,dense,hybrid", "--no-rerank", "--json")


def test_imported_judgments_measure_as_the_qrels_do(sample_beir, tmp_path):
    store = tmp_path / "store"
    from_files = run_cli("eval", str(sample_beir), "--index", "sample", *STRATEGIES, data_dir=store)
    assert from_files.returncode == 0, from_files.stderr

    imported = run_cli("judgments", "import", str(sample_beir), "--index", "sample", data_dir=store)
    assert imported.returncode == 0, imported.stderr
    assert "imported 23 judgments of 20 queries into embedded" in imported.stdout
    listed = run_cli("judgments", "list", "--index", "sample", "--json", data_dir=store)
    assert len(json.loads(listed.stdout)) == 23

    judged = run_cli("eval", "--judgments", "--index", "sample", *STRATEGIES, data_dir=store)
    assert judged.returncode == 0, judged.stderr
    files, judgments = json.loads(from_files.stdout), json.loads(judged.stdout)
    assert judgments["queries"] == files["queries"] == 20
    assert judgments["figures"] == files["figures"]

    tuned = run_cli(
        "judgments", "tune", "--index", "sample", "--no-rerank", "--dry-run", data_dir=store
    )
    assert tuned.returncode == 0, tuned.stderr
    assert "20 judged queries in index 'sample'" in tuned.stdout
    assert "fusion: " in tuned.stdout and "dry run: nothing changed" in tuned.stdout
    undo = run_cli("judgments", "undo", "--index", "sample", data_dir=store)
    assert undo.returncode == 1 and "no tuning from judgments to undo" in undo.stderr

    exported = run_cli(
        "judgments", "export", str(tmp_path / "out"), "--index", "sample", data_dir=store
    )
    assert exported.returncode == 0, exported.stderr
    assert "exported 23 judgments of 20 queries" in exported.stdout
    rows = (tmp_path / "out" / "qrels" / "test.tsv").read_text().splitlines()
    assert rows[0] == "query-id\tcorpus-id\tscore" and len(rows) == 24


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("eval", "--judgments", "--index", "empty"), "has no judged query"),
        (("eval",), "Give FOLDER"),
        (("judgments", "import", "nowhere"), "qrels/test.tsv not found"),
    ],
)
def test_bad_input_is_one_line(args, message, tmp_path):
    answer = run_cli(*args, data_dir=tmp_path / "store")
    assert answer.returncode in (1, 2) and message in answer.stderr
    assert "Traceback" not in answer.stderr
