import json

import numpy as np
import pytest

from esrerank.errors import InputError
from esrerank.training import Group, ScoredPair, read_relevance_file, read_scored_pairs
from esrerank.training.cross import sample_negatives
from esrerank.training.data import Candidate, DevQuery, split_off
from esrerank.training.evaluation import correlations, reciprocal_rank, reranked_mrr
from esrerank.training.inputs import beir_files, from_relevance_file


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_pairs_and_triples_group_by_query(tmp_path):
    lines = [
        {"query": "q1", "passage": "good", "label": 1},
        {"query": "q1", "passage": "bad", "label": 0},
        {"query": "q2", "positive": "yes", "negatives": ["no", "nope"]},
        {"query": "q2", "positive": "yes", "negative": "no"},
    ]
    path = write(tmp_path, "p.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    assert read_relevance_file(path) == [
        Group("q1", ("good",), ("bad",)),
        Group("q2", ("yes",), ("no", "nope")),
    ]


@pytest.mark.parametrize(
    "line",
    ['{"query": "q", "passage": "p"}', '{"query": "q", "label": 1}', '{"query": ', '["q"]'],
)
def test_bad_pairs_line_is_named(tmp_path, line):
    path = write(tmp_path, "p.jsonl", '{"query": "q", "passage": "p", "label": 1}\n' + line)
    with pytest.raises(InputError, match=r"p\.jsonl:2: expected a JSON object"):
        read_relevance_file(path)


def test_pairs_without_positive(tmp_path):
    path = write(tmp_path, "p.jsonl", '{"query": "q", "passage": "p", "label": 0}\n')
    with pytest.raises(InputError, match="no relevant"):
        read_relevance_file(path)


def test_scored_pairs_scaled_with_optional_header(tmp_path):
    path = write(tmp_path, "s.csv", 'sentence1,sentence2,score\n"a, b",c,5.0\nd,e,1.25\n')
    assert read_scored_pairs(path) == [ScoredPair("a, b", "c", 1.0), ScoredPair("d", "e", 0.25)]
    headless = write(tmp_path, "h.csv", "a,b,2.5\n")
    assert read_scored_pairs(headless, scale=5) == [ScoredPair("a", "b", 0.5)]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("a,b", "expected 3 columns"),
        ("a,b,high", "score 'high' is not a number"),
        ("a,b,7", r"score 7 is outside 0\.\.5"),
        (",b,1", "empty sentence"),
    ],
)
def test_bad_csv_row_names_line(tmp_path, row, message):
    path = write(tmp_path, "s.csv", f"x,y,1\nx,y,2\n{row}\n")
    with pytest.raises(InputError, match=rf"s\.csv:3: {message}"):
        read_scored_pairs(path)


def test_split_off_is_seeded_and_keeps_both_sides():
    items = list(range(20))
    train, held = split_off(items, 0.1, seed=1)
    assert len(held) == 2 and sorted(train + held) == items
    assert split_off(items, 0.1, seed=1) == (train, held)
    assert [len(side) for side in split_off([1, 2], 0.9, seed=1)] == [1, 1]
    with pytest.raises(InputError, match="need at least 2"):
        split_off([1], 0.1, seed=1)


def test_dev_queries_from_pairs_hide_labels_in_order(tmp_path):
    lines = [{"query": f"q{i}", "positive": f"p{i}", "negatives": ["n1", "n2"]} for i in range(4)]
    path = write(tmp_path, "t.jsonl", "\n".join(json.dumps(x) for x in lines))
    groups, dev = from_relevance_file(path, dev_file=None, dev_fraction=0.25, seed=3)
    assert len(groups) == 3 and len(dev) == 1
    labels = [c.relevant for c in dev[0].candidates]
    assert sorted(labels) == [False, False, True]


def test_sample_negatives_repeats_only_when_short():
    import random

    rng = random.Random(0)
    group = Group("q", ("p",), ("a", "b", "c"))
    picked = sample_negatives(group, 2, rng)
    assert len(set(picked)) == 2 and set(picked) <= {"a", "b", "c"}
    assert sorted(set(sample_negatives(group, 5, rng))) == ["a", "b", "c"]
    assert sample_negatives(Group("q", ("p",)), 3, rng) == []


def test_reranked_mrr_against_hand_computed():
    dev = [
        DevQuery("q1", (Candidate("x", False), Candidate("y", True), Candidate("z", False))),
        DevQuery("q2", (Candidate("x", False), Candidate("y", False))),
    ]
    # q1: y scores lowest -> rank 3 -> 1/3; q2 has no relevant -> 0; mean 1/6.
    assert reranked_mrr(dev, lambda q, texts: np.array([3.0, 1.0, 2.0][: len(texts)])) == (
        pytest.approx(1 / 6)
    )
    assert reciprocal_rank([False] * 10 + [True]) == 0.0
    assert reciprocal_rank([False, True]) == 0.5


def test_correlations():
    pairs = [ScoredPair("a", "b", s) for s in (0.0, 0.2, 0.4, 1.0)]
    figures = correlations(pairs, np.array([0.1, 0.3, 0.2, 0.9]))
    assert figures["spearman"] == pytest.approx(0.8)  # one swapped pair of four: 1 - 6*2/60
    assert 0.9 < figures["pearson"] < 1.0


def test_beir_folder_needs_train_split(tmp_path):
    (tmp_path / "qrels").mkdir()
    write(tmp_path, "corpus.jsonl", "")
    write(tmp_path, "queries.jsonl", "")
    write(tmp_path / "qrels", "test.tsv", "query-id\tcorpus-id\tscore\n")
    with pytest.raises(InputError, match=r"no train split .*found: test\.tsv"):
        beir_files(tmp_path)
    write(tmp_path / "qrels", "train.tsv", "")
    assert beir_files(tmp_path)[2].name == "train.tsv"
    assert beir_files(tmp_path)[3] is None
