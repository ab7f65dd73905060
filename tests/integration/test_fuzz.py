"""Seeded fuzzing of what a user hands esrerank: corpus files (every layout, odd Unicode, wrong
types, truncated and binary content, deep nesting, huge fields) ingested into a real embedded
store, and command lines run through the real entry point. Nothing may end in a traceback: a
file is either ingested exactly or refused with ``InputError``; a command exits 0, 1 or 2 with
no traceback."""

from __future__ import annotations

import io
import json
import random
import sys
import unicodedata
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from esrerank import ChunkSpec, Searcher
from esrerank.cli import main
from esrerank.errors import EsrerankError, InputError

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CORPUS_CASES = 1700
COMMAND_CASES = 300
ODD = ["\u0085", "\u2028", "\u2029", "\x00", "\ufeff", "\u200b", "\U0001f600", "é", "한국어", "\t"]
CHUNKS = ChunkSpec(size=32, overlap=8)


def random_text(rng: random.Random, longest: int = 120) -> str:
    words = ["cell", "protein", "대한민국의", "東京", "x" * rng.randint(1, 40), *ODD]
    return " ".join(rng.choice(words) for _ in range(rng.randint(0, longest // 6)))


def random_documents(rng: random.Random) -> list[dict]:
    """Valid documents: unique non-empty ids, non-empty text, odd characters included."""
    documents = []
    for number in range(rng.randint(1, 4)):
        document = {"_id": f"d{number}{rng.choice(['', 'é', '/', ' x', '#'])}"}
        if rng.random() < 0.7:
            document["title"] = random_text(rng, 30)
        document["text"] = random_text(rng).strip() or "plain"
        if rng.random() < 0.02:
            document["text"] += " " + "long " * 20_000  # a huge field: many passages
        documents.append(document)
    return documents


def serialize(rng: random.Random, documents: list[dict], path: Path, layout: str) -> None:
    """Write ``documents`` in ``layout`` (a --format), its details random."""
    ensure_ascii = rng.random() < 0.5
    if layout == "jsonl":
        text = "\n".join(json.dumps(d, ensure_ascii=ensure_ascii) for d in documents) + "\n"
        text = text.replace("\n", "\r\n") if rng.random() < 0.2 else text
    elif layout == "json":
        text = json.dumps(documents, ensure_ascii=ensure_ascii, indent=rng.choice([None, 2]))
    else:
        dump = {d["_id"]: {k: v for k, v in d.items() if k != "_id"} for d in documents}
        text = json.dumps(dump, ensure_ascii=ensure_ascii, indent=rng.choice([None, 1]))
    data = ("\ufeff" if rng.random() < 0.2 else "") + text
    path.write_text(data, encoding="utf-8", newline="")


def mutate(rng: random.Random, path: Path) -> None:
    """Break the file one of the ways real files break (the result may still be valid)."""
    data = path.read_bytes()
    kinds = ["truncate", "byte", "binary", "nesting", "wrong-type", "empty", "junk", "surrogate"]
    kind = rng.choice(kinds)
    if kind == "truncate":
        data = data[: rng.randint(0, len(data))]
    elif kind == "byte":
        at = rng.randint(0, len(data))
        data = data[:at] + bytes([rng.randint(0, 255)]) + data[at:]
    elif kind == "binary":
        data = bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 300)))
    elif kind == "nesting":
        depth = rng.choice([10, 5_000, 100_000])
        data = ("[" * depth + "]" * depth).encode() + b"\n" + data
    elif kind == "wrong-type":
        replacement = rng.choice(['"text": 5', '"text": null', '"text": {"a": 1}', '"_id": []'])
        data = data.replace(b'"text": "', replacement.encode() + b', "x": "', 1)
    elif kind == "surrogate":  # an unpaired surrogate escape: valid JSON, not valid Unicode
        data = data.replace(b'"text": "', b'"text": "\\ud800 ', 1)
    elif kind == "empty":
        data = rng.choice([b"", b"\n\n", b"[]", b"{}", b"\xef\xbb\xbf"])
    else:
        data = data + rng.choice([b"\n{", b"\n\x00\x00", b",]", b"\n[1, 2]\n"])
    path.write_bytes(data)


def assert_ingested_exactly(searcher: Searcher, documents: list[dict]) -> None:
    stored = list(searcher.backend.passages(searcher.index))
    assert {p.doc_id for p in stored} == {d["_id"] for d in documents}
    for document in documents:
        passages = [p for p in stored if p.doc_id == document["_id"]]
        text = document["text"]
        covered = set()
        for passage in passages:
            assert passage.title == (document.get("title") or "").strip()
            assert text[passage.char_start : passage.char_end] == passage.text
            covered.update(range(passage.char_start, passage.char_end))
        # every visible character is in some passage (the tokenizer skips controls and format
        # characters such as NUL, U+200B and U+FEFF, as it does whitespace)
        visible = [i for i, c in enumerate(text) if unicodedata.category(c)[0] not in "CZ"]
        assert all(i in covered for i in visible)


def test_corpus_files_are_ingested_exactly_or_refused_in_one_line(bi_encoder, tmp_path):
    rng = random.Random(20261124)
    refused = ingested = 0
    for case in range(CORPUS_CASES):
        documents = random_documents(rng)
        layout = rng.choice(["jsonl", "json", "wiki"])
        suffixes = ["json", "txt"] + (["jsonl"] if layout != "wiki" else [])  # a dump is no JSONL
        path = tmp_path / f"case{case % 7}.{rng.choice(suffixes)}"
        serialize(rng, documents, path, layout)
        broken = rng.random() < 0.5
        if broken:
            mutate(rng, path)
        searcher = Searcher(None, "fuzz", data_dir=tmp_path / "store", bi_encoder=bi_encoder)
        try:
            searcher.ingest(path, fmt=rng.choice(["auto", layout]), chunking=CHUNKS, recreate=True)
        except InputError as exc:
            message = str(exc)
            assert broken, f"case {case}: a valid {layout} file was refused: {message}"
            assert message and "\n" not in message and "Traceback" not in message
            refused += 1
        else:
            if not broken:
                assert_ingested_exactly(searcher, documents)
            ingested += 1
        finally:
            searcher.close()
    assert refused > 200 and ingested > CORPUS_CASES // 2  # both outcomes were exercised


def random_command(rng: random.Random, corpus: Path) -> list[str]:
    values = ["", "-1", "0", "1e9", "nan", "abc", "한", "\u2028", "x" * 300, "5", "0.5", "1,2,3"]
    command = rng.choice(["ingest", "query", "eval", "train", "reembed", "nope", "--help"])
    argv = [command]
    if command in ("ingest", "eval"):
        argv.append(rng.choice([str(corpus), str(corpus.parent), "/nonexistent", ""]))
    if command == "query":
        argv.append(rng.choice(["cancer", "", " ", "\x00", "한국어", "caf\udcff"]))
    options = [
        "--top-k", "--candidates", "--rerank-depth", "--fusion", "--weights", "--rrf-k",
        "--rerank-weight", "--url", "--index", "--chunk-size", "--chunk-overlap", "--format",
        "--analyzer", "--encoder", "--epochs", "--runtime", "--backend", "--precision", "--split",
    ]  # fmt: skip
    for _ in range(rng.randint(0, 3)):
        argv += [rng.choice(options), rng.choice(values)]
    if rng.random() < 0.3:
        argv.append(rng.choice(["--no-rerank", "--json", "--explain", "--recreate", "--sync"]))
    return argv


def test_command_lines_end_with_a_status_not_a_traceback(tmp_path, monkeypatch, sample_corpus):
    corpus = sample_corpus(3)
    monkeypatch.setenv("ESRERANK_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("ESRERANK_INDEX", "fuzz")
    rng = random.Random(7)
    statuses = set()
    for case in range(COMMAND_CASES):
        argv = random_command(rng, corpus)
        monkeypatch.setattr(sys, "argv", ["esrerank", *argv])
        err = io.StringIO()
        with redirect_stdout(io.StringIO()), redirect_stderr(err), pytest.raises(SystemExit) as end:
            try:
                main()
            except EsrerankError as exc:  # main renders these; reaching here is a bug
                raise AssertionError(f"case {case} {argv}: escaped main: {exc}") from exc
            sys.exit(0)
        code = end.value.code or 0
        assert code in (0, 1, 2), f"case {case} {argv}: exit {code}: {err.getvalue()}"
        assert "Traceback" not in err.getvalue(), f"case {case} {argv}"
        statuses.add(code)
    assert statuses == {0, 1, 2}
