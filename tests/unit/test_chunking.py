import pytest

from esrerank.corpus import ChunkSpec, chunk_record, whitespace_spans
from esrerank.errors import ConfigError
from esrerank.types import Record


def record(text, doc_id="d1", title="T"):
    return Record(doc_id=doc_id, title=title, text=text, source="x:1")


def test_short_document_is_one_passage():
    passages = chunk_record(record("one two three"), whitespace_spans, ChunkSpec(10, 2))
    assert [p.text for p in passages] == ["one two three"]
    assert passages[0].passage_id == "d1#0"


def test_windows_overlap_and_keep_positions():
    words = [f"w{i}" for i in range(10)]
    passages = chunk_record(record(" ".join(words)), whitespace_spans, ChunkSpec(4, 1))
    assert [p.text.split() for p in passages] == [words[0:4], words[3:7], words[6:10]]
    assert [p.position for p in passages] == [0, 1, 2]
    assert [p.passage_id for p in passages] == ["d1#0", "d1#1", "d1#2"]
    assert all(p.doc_id == "d1" and p.title == "T" for p in passages)


def test_passage_text_is_exact_slice_of_original():
    text = "alpha  beta\n\ngamma delta"
    passages = chunk_record(record(text), whitespace_spans, ChunkSpec(2, 0))
    for p in passages:
        assert text[p.char_start : p.char_end] == p.text
    assert passages[0].text == "alpha  beta"


def test_ids_and_hashes_are_stable_and_change_with_content():
    first = chunk_record(record("a b c d e"), whitespace_spans, ChunkSpec(3, 1))
    again = chunk_record(record("a b c d e"), whitespace_spans, ChunkSpec(3, 1))
    edited = chunk_record(record("a b c d X"), whitespace_spans, ChunkSpec(3, 1))
    assert first == again
    assert first[0].content_hash == edited[0].content_hash
    assert first[-1].content_hash != edited[-1].content_hash


@pytest.mark.parametrize("size,overlap", [(0, 0), (5, 5), (5, -1)])
def test_invalid_chunk_specs(size, overlap):
    with pytest.raises(ConfigError):
        ChunkSpec(size, overlap)


def test_documents_rebuilt_from_overlapping_passages():
    from esrerank.indexing.reembed import documents_of

    text = "  one two  three four five\nsix seven eight nine ten eleven twelve  "
    record = Record("d1", "Title", text, "x")
    passages = chunk_record(record, whitespace_spans, ChunkSpec(size=4, overlap=1))
    assert len(passages) == 4
    other = chunk_record(Record("d2", "", "solo", "y"), whitespace_spans, ChunkSpec(4, 1))
    rebuilt = documents_of(list(reversed(passages)) + other, "idx")
    assert [(r.doc_id, r.title, r.text) for r in rebuilt] == [
        ("d1", "Title", text.strip()),
        ("d2", "", "solo"),
    ]
    again = chunk_record(rebuilt[0], whitespace_spans, ChunkSpec(4, 1))
    assert [p.content_hash for p in again] == [p.content_hash for p in passages]
