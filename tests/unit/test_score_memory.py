"""The bounded memory of cross-encoder scores."""

import pytest

from esrerank.models.score_memory import ScoreMemory


def test_recalls_what_it_kept_per_route_and_query():
    memory = ScoreMemory(10)
    memory.keep("exact", "q", ["a", "b"], [0.25, 0.75])
    assert memory.recall(["exact"], "q", ["b", "c", "a"]) == [0.75, None, 0.25]
    assert memory.recall(["draft"], "q", ["a"]) == [None]
    assert memory.recall(["exact"], "other query", ["a"]) == [None]
    assert memory.recalled == 2


def test_the_first_route_that_holds_a_score_answers():
    memory = ScoreMemory(10)
    memory.keep("draft", "q", ["a", "b"], [0.2, 0.4])
    memory.keep("exact", "q", ["a"], [0.3])
    assert memory.recall(["exact", "draft"], "q", ["a", "b"]) == [0.3, 0.4]


def test_forgets_the_pairs_used_longest_ago():
    memory = ScoreMemory(2)
    memory.keep("exact", "q", ["a", "b"], [0.1, 0.2])
    memory.recall(["exact"], "q", ["a"])  # a is now the latest used
    memory.keep("exact", "q", ["c"], [0.3])
    assert len(memory) == 2
    assert memory.recall(["exact"], "q", ["a", "b", "c"]) == [0.1, None, 0.3]


def test_a_limit_of_zero_keeps_nothing():
    memory = ScoreMemory(0)
    memory.keep("exact", "q", ["a"], [0.5])
    assert len(memory) == 0 and memory.recall(["exact"], "q", ["a"]) == [None]


def test_texts_are_told_apart_exactly():
    memory = ScoreMemory(10)
    memory.keep("exact", "q", ["a\0b"], [0.5])
    assert memory.recall(["exact"], "q\0a", ["b"]) == [None]
    memory.keep("exact", "q", ["\ud800 lone surrogate"], [0.9])
    assert memory.recall(["exact"], "q", ["\ud800 lone surrogate"]) == [0.9]


def test_a_negative_limit_is_refused():
    with pytest.raises(ValueError, match="0 or more"):
        ScoreMemory(-1)
