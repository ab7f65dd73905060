"""Judgments kept in the embedded store's folder, and as evaluation data: a grade replaced when
given again, the file rewritten whole, a broken line named, BEIR export and import round trip,
and the queries eval measures (those with a relevant document)."""

from __future__ import annotations

import pytest

from esrerank.backends.embedded import EmbeddedBackend
from esrerank.backends.judgments import Judgment
from esrerank.errors import BackendError, ConfigError, InputError
from esrerank.evaluation.judgments import export_beir, import_beir, judged_data


def test_a_pair_judged_again_takes_the_new_grade(tmp_path):
    store = EmbeddedBackend(tmp_path).judgments("docs")
    assert store.all() == []
    store.put([Judgment("bone fractures", "d1", 3), Judgment("bone fractures", "d2", 0)])
    store.put([Judgment("bone fractures", "d1", 1, "d1#0")])
    grades = {j.doc_id: (j.grade, j.passage_id) for j in store.all()}
    assert grades == {"d1": (1, "d1#0"), "d2": (0, "")}
    assert all(j.updated > 0 for j in store.all())
    assert store.delete("bone fractures", "d2") and not store.delete("bone fractures", "d2")
    assert [j.doc_id for j in EmbeddedBackend(tmp_path).judgments("docs").all()] == ["d1"]
    assert (tmp_path / "judgments" / "docs.jsonl").is_file()
    assert not list((tmp_path / "judgments").glob(".judgments-*"))  # no staging file left


def test_a_broken_line_is_named(tmp_path):
    store = EmbeddedBackend(tmp_path).judgments("docs")
    store.put([Judgment("q", "d1", 2)])
    with store.path.open("a") as out:
        out.write('{"query": "q", "doc_id": "d2", "grade": 7}\n')
    with pytest.raises(BackendError, match=r"docs.jsonl, line 2: not a judgment"):
        store.all()


@pytest.mark.parametrize(
    ("query", "doc_id", "grade"), [("", "d", 1), ("q", "", 1), ("q", "d", 4), ("q", "d", True)]
)
def test_a_judgment_is_checked(query, doc_id, grade):
    with pytest.raises(ConfigError):
        Judgment(query, doc_id, grade)


def test_beir_export_and_import_round_trip(tmp_path):
    given = [
        Judgment("vitamin d and bones", "d1", 3),
        Judgment("vitamin d and bones", "d2", 1),
        Judgment("statins", "d3", 0),
    ]
    written = export_beir(given, tmp_path / "out", "judged")
    assert [p.name for p in written] == ["queries.jsonl", "judged.tsv"]
    back = import_beir(tmp_path / "out", "judged")
    assert sorted((j.query, j.doc_id, j.grade) for j in back) == sorted(
        (j.query, j.doc_id, j.grade) for j in given
    )
    with pytest.raises(InputError, match="qrels/test.tsv not found"):
        import_beir(tmp_path / "out")


def test_eval_measures_the_queries_with_a_relevant_document():
    data = judged_data(
        [Judgment("a", "d1", 2), Judgment("a", "d2", 0), Judgment("b", "d3", 0)], "docs"
    )
    assert list(data.queries.values()) == ["a"]
    assert list(data.qrels.values()) == [{"d1": 2, "d2": 0}]
    with pytest.raises(InputError, match="no judged query with a relevant document"):
        judged_data([Judgment("b", "d3", 0)], "docs")
