"""Index schemas: esrerank's own layout, another index's fields, and documents' other fields."""

from __future__ import annotations

from esrerank.backends import IndexMeta
from esrerank.backends.schema import ESRERANK_SCHEMA, TERMS_FIELD, IndexSchema
from esrerank.corpus import Fields, read_corpus
from esrerank.types import Passage

PASSAGE = Passage("d1#0", "d1", "Title", "Some text.", 0, 0, 10, "h", {"category": "news"})


def test_esrerank_schema_round_trips_a_passage_with_its_fields():
    source = ESRERANK_SCHEMA.source(PASSAGE, [0.1, 0.2])
    assert source["category"] == "news" and source["embedding"] == [0.1, 0.2]
    back = ESRERANK_SCHEMA.passage(source)
    assert back == PASSAGE and back.fields == {"category": "news"}


def test_another_index_names_its_own_fields_and_ids():
    schema = IndexSchema(
        id_field=None, doc_id_field=None, title_field="name", text_field="body", vector_field="v"
    )
    source = {"name": "Lamp", "body": "A desk lamp.", "price": 12, "v": [0.0]}
    passage = schema.passage(source, hit_id="sku-9")
    assert (passage.passage_id, passage.doc_id, passage.title, passage.text) == (
        "sku-9",
        "sku-9",
        "Lamp",
        "A desk lamp.",
    )
    assert passage.fields == {"price": 12}


def test_the_build_record_says_which_schema_an_index_has():
    meta = IndexMeta("m", 3, 200, 40, analyzer="cjk")
    assert meta.index_schema().match_field == TERMS_FIELD
    custom = IndexMeta("m", 3, 200, 40, schema={"text_field": "body"})
    assert IndexMeta.from_dict(custom.to_dict()).index_schema().text_field == "body"


def test_ingest_keeps_other_fields_but_not_esrerank_names_or_empty_values(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text(
        '{"_id": "1", "title": "T", "text": "x", "year": 2020, "tags": [], '
        '"metadata": {}, "position": 3, "embedding": [1], "lang": "en"}\n'
    )
    (record,) = read_corpus(path)
    assert record.fields == {"year": 2020, "lang": "en"}
    assert record.set_aside == ("position", "embedding")
    (only,) = read_corpus(path, fields=Fields(keep=("lang",)))
    assert only.fields == {"lang": "en"}
    (none,) = read_corpus(path, fields=Fields(keep=()))
    assert none.fields == {}
