"""The command line's names for the library's settings: flags in its messages, in one place."""

import re
from pathlib import Path

from esrerank.cli.flag_errors import NOTE_SETTINGS, for_command_line, with_flags
from esrerank.errors import ConfigError, IndexNotFoundError
from esrerank.indexing.corpus_defaults import choose_analyzer


def test_library_errors_name_parameters_and_the_command_line_shows_flags():
    error = ConfigError("top_k must be at least 1, got 0.", settings=("top_k",))
    assert for_command_line(error) == "--top-k must be at least 1, got 0."
    missing = IndexNotFoundError(
        "Index 'x' not found in /d: ingest a corpus into it first, or point data_dir at the "
        "folder that holds it.",
        index="x",
        settings=("data_dir",),
    )
    assert for_command_line(missing) == (
        "Index 'x' not found in /d: ingest a corpus into it first, or point --data-dir (or "
        "ESRERANK_DATA_DIR) at the folder that holds it. (esrerank ingest FILE --index x)"
    )
    assert for_command_line(ConfigError("a bi-encoder is not a bi_encoder")) == (
        "a bi-encoder is not a bi_encoder"  # only the settings it names are translated
    )


def test_no_library_message_speaks_in_flags():
    """Messages raised outside the command line name parameters, never flags or scripts."""
    source = Path(__file__).parents[2] / "src" / "esrerank"
    commands = "ingest|query|eval|train|reembed"
    speaking_cli = re.compile(
        rf"Error\((?:[^()]|\([^()]*\))*?(--[a-z]|esrerank ({commands}) |scripts/)"
    )
    offenders = [
        path.name
        for path in source.rglob("*.py")
        if path.parent.name != "cli" and speaking_cli.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_ingest_notes_name_flags_on_the_command_line():
    note = choose_analyzer("대한민국의 수도는 서울이다. " * 20).note
    assert "set analyzer to standard" in note and "--" not in note
    assert "(set --analyzer to standard to override)" in with_flags(note, NOTE_SETTINGS)
