import json

import pytest

from esrerank.corpus import Fields, jsonstream, open_corpus, read_corpus, read_qrels, read_queries
from esrerank.errors import InputError


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_json_array(tmp_path):
    path = write(
        tmp_path,
        "c.json",
        json.dumps([{"id": 1, "title": "A", "text": "x"}, {"id": 2, "text": "y"}]),
    )
    records = read_corpus(path)
    assert [(r.doc_id, r.title, r.text) for r in records] == [("1", "A", "x"), ("2", "", "y")]


def test_jsonl_beir(tmp_path):
    path = write(
        tmp_path,
        "corpus.jsonl",
        '{"_id": "a", "title": "T", "text": "one"}\n\n{"_id": "b", "text": "two"}\n',
    )
    assert [r.doc_id for r in read_corpus(path)] == ["a", "b"]
    assert read_corpus(path)[1].source.endswith("corpus.jsonl:3")


def test_wiki_dump_keyed_by_id(tmp_path):
    dump = {
        "9027": {"text": "본문", "title": "제목", "document_id": 9027},
        "7": {"text": "t", "title": "x"},
    }
    path = write(tmp_path, "wiki.json", json.dumps(dump, ensure_ascii=False, indent=1))
    records = read_corpus(path)
    assert [(r.doc_id, r.title, r.text) for r in records] == [
        ("9027", "제목", "본문"),
        ("7", "x", "t"),
    ]


def test_reads_the_shared_mrc_wiki_dump():
    from pathlib import Path

    path = Path(__file__).parents[1] / "data" / "mrc-wiki-sample.json"
    records = read_corpus(path)
    assert len(records) == 5 and all(r.text and r.title for r in records)


def test_configurable_fields(tmp_path):
    path = write(tmp_path, "c.jsonl", '{"key": "k1", "heading": "H", "body": "B"}\n')
    [r] = read_corpus(path, fields=Fields(id="key", title="heading", text="body"))
    assert (r.doc_id, r.title, r.text) == ("k1", "H", "B")


def test_malformed_jsonl_names_the_line(tmp_path):
    path = write(tmp_path, "c.jsonl", '{"_id": "a", "text": "x"}\n{"_id": "b", "text": \n')
    with pytest.raises(InputError, match=r"c\.jsonl:2: invalid JSON"):
        read_corpus(path)


def test_malformed_json_names_the_line(tmp_path):
    path = write(tmp_path, "c.json", '[\n {"id": 1, "text": "x"},\n {"id": 2 "text": "y"}\n]')
    with pytest.raises(InputError, match=r"c\.json:3: invalid JSON"):
        read_corpus(path)


def test_document_without_text_names_line_and_field(tmp_path):
    path = write(
        tmp_path, "c.jsonl", '{"_id": "a", "text": "x"}\n{"_id": "b", "title": "no text"}\n'
    )
    with pytest.raises(
        InputError, match=r"c\.jsonl:2: document 'b' has no 'text' field.*text_field"
    ):
        read_corpus(path)


def test_empty_text_is_an_error(tmp_path):
    path = write(tmp_path, "c.jsonl", '{"_id": "a", "text": "  "}\n')
    with pytest.raises(InputError, match="empty"):
        read_corpus(path)


def test_empty_corpus(tmp_path):
    for name, text in (("e.jsonl", "\n\n"), ("e.json", "[]"), ("w.json", "{}")):
        with pytest.raises(InputError, match="no documents"):
            read_corpus(write(tmp_path, name, text))


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_corpus(tmp_path / "missing.jsonl")


def test_duplicate_ids(tmp_path):
    path = write(tmp_path, "c.jsonl", '{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n')
    with pytest.raises(InputError, match="duplicate document id 'a'.*line 1"):
        read_corpus(path)


def test_missing_id(tmp_path):
    path = write(tmp_path, "c.jsonl", '{"text": "x"}\n')
    with pytest.raises(InputError, match="no id field.*id_field"):
        read_corpus(path)


def test_queries_and_qrels(tmp_path):
    queries = write(tmp_path, "q.jsonl", '{"_id": "1", "text": "what"}\n')
    qrels = write(tmp_path, "r.tsv", "query-id\tcorpus-id\tscore\n1\td1\t1\n1\td2\t0\n")
    assert read_queries(queries) == {"1": "what"}
    assert read_qrels(qrels) == {"1": {"d1": 1, "d2": 0}}
    bad = write(tmp_path, "bad.tsv", "query-id\tcorpus-id\tscore\n1 d1 1\n")
    with pytest.raises(InputError, match=r"bad\.tsv:2"):
        read_qrels(bad)


def test_malformed_wiki_dump_names_the_line(tmp_path):
    path = write(
        tmp_path,
        "wiki.json",
        '{\n "1": {"text": "a", "title": "t"},\n "2": {"text": "b" "title": "u"}\n}',
    )
    with pytest.raises(InputError, match=r"wiki\.json:3: invalid JSON"):
        read_corpus(path)


def test_jsonl_keeps_line_separators_inside_strings_and_skips_a_bom(tmp_path):
    text = "one\u2028two\u0085three\u2029four"
    path = tmp_path / "c.jsonl"
    path.write_bytes(
        "\ufeff".encode()
        + (json.dumps({"_id": "a", "text": text}, ensure_ascii=False) + "\n").encode()
    )
    [record] = read_corpus(path)
    assert record.text == text
    queries = tmp_path / "q.jsonl"
    queries.write_bytes(
        "\ufeff".encode() + json.dumps({"_id": "1", "text": text}, ensure_ascii=False).encode()
    )
    assert read_queries(queries) == {"1": text}


def test_bom_before_a_json_array(tmp_path):
    path = tmp_path / "c.json"
    path.write_bytes("\ufeff".encode() + b'[{"id": 1, "text": "x"}]')
    assert [r.doc_id for r in read_corpus(path)] == ["1"]


@pytest.mark.parametrize("fmt", ["json", "wiki"])
def test_values_across_blocks_keep_their_lines(tmp_path, monkeypatch, fmt):
    """Read seven characters at a time: values cut by every block boundary still parse, and
    each record and error names its true line."""
    monkeypatch.setattr(jsonstream, "BLOCK", 7)
    long_text = "word " * 50
    if fmt == "json":
        body = (
            "[\n"
            + ",\n".join(
                json.dumps({"id": i, "text": f"{long_text}{i}", "n": 1.25e3}) for i in range(5)
            )
            + "\n]"
        )
    else:
        body = (
            "{\n"
            + ",\n".join(
                f'"{i}": ' + json.dumps({"text": f"{long_text}{i}", "flag": True}) for i in range(5)
            )
            + "\n}"
        )
    path = write(tmp_path, f"c-{fmt}.json", body)
    records = read_corpus(path)
    assert [r.doc_id for r in records] == [str(i) for i in range(5)]
    assert [r.source.rsplit(":", 1)[1] for r in records] == ["2", "3", "4", "5", "6"]
    assert records[4].text == f"{long_text}4"
    broken = write(tmp_path, f"b-{fmt}.json", body.replace('"text"', '"text" "x"', 1))
    with pytest.raises(InputError, match=rf"b-{fmt}\.json:2: invalid JSON"):
        read_corpus(broken)


def test_a_stream_reads_again_from_the_start(tmp_path):
    path = write(tmp_path, "c.jsonl", '{"_id": "a", "text": "x"}\n{"_id": "b", "text": "y"}\n')
    corpus = open_corpus(path)
    assert corpus.format == "jsonl"
    assert corpus.check().documents == 2
    assert [r.doc_id for r in corpus] == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"_id": "a", "text": "x"}\n{"_id": "b", "text": "y"}\n', "jsonl"),
        ('{"doc": {"a": 1}}\n{"doc": {"a": 2}}\n', "jsonl"),
        ('{"1": {"text": "x"}, "2": {"text": "y"}}', "wiki"),
        ('{\n "1": {"text": "x"}\n}', "wiki"),
        ('[{"id": 1, "text": "x"}]', "json"),
    ],
)
def test_format_detection_reads_only_the_first_entries(tmp_path, text, expected):
    assert open_corpus(write(tmp_path, "c.json", text)).format == expected


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"_id": "a", "text": "x"}\n{"_id": "b", "text": "\xff"}\n')
    with pytest.raises(InputError, match=r"c\.jsonl:2: not UTF-8"):
        read_corpus(path)
