"""The command line's names for the library's settings: flags in its messages, in one place."""

import ast
import re
from pathlib import Path

from esrerank.cli.flag_errors import NOTE_SETTINGS, for_command_line, with_flags
from esrerank.errors import ConfigError, IndexNotFoundError
from esrerank.indexing.corpus_defaults import choose_analyzer


def test_library_errors_name_parameters_and_the_command_line_shows_flags():
    error = ConfigError("`top_k` must be at least 1, got 0.", settings=("top_k",))
    assert str(error) == "top_k must be at least 1, got 0."
    assert for_command_line(error) == "--top-k must be at least 1, got 0."
    missing = IndexNotFoundError(
        "Index 'x' not found in /d: ingest a corpus into it first, or point `data_dir` at the "
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
    assert "set `analyzer` to standard" in note and "--" not in note
    assert "(set --analyzer to standard to override)" in with_flags(note, NOTE_SETTINGS)


def _literal_text(node: ast.expr, constants: dict[str, str]) -> str:
    """The literal parts of a message expression, with the module's string constants it puts
    in (other f-string holes left out)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_literal_text(part, constants) for part in node.values)
    if isinstance(node, ast.FormattedValue) and isinstance(node.value, ast.Name):
        return constants.get(node.value.id, f"{{{node.value.id}}}")
    return "\x00"


def test_every_setting_an_error_lists_is_marked_in_its_message():
    """A setting in ``settings`` and not marked in the message would be left in the library's
    spelling on the command line; a word that only looks like one is never touched."""
    source = Path(__file__).parents[2] / "src" / "esrerank"
    unmarked = []
    for path in source.rglob("*.py"):
        module = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            node.targets[0].id: node.value.value
            for node in module.body
            if isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        }
        for node in ast.walk(module):
            settings = [k.value for k in getattr(node, "keywords", []) if k.arg == "settings"]
            if not isinstance(node, ast.Call) or not settings or not node.args:
                continue
            if not isinstance(settings[0], ast.Tuple) or not isinstance(
                node.args[0], ast.Constant | ast.JoinedStr
            ):
                continue
            text = _literal_text(node.args[0], constants)
            for element in settings[0].elts:
                if isinstance(element, ast.Constant) and f"`{element.value}`" not in text:
                    unmarked.append(f"{path.name}:{node.lineno} {element.value}")
                if isinstance(element, ast.Name) and f"`{{{element.id}}}`" not in text:
                    unmarked.append(f"{path.name}:{node.lineno} {{{element.id}}}")
    assert unmarked == []


def test_a_word_that_is_also_a_setting_stays_as_it_is():
    error = ConfigError("No corpus in /data/corpus: name it with `corpus`.", settings=("corpus",))
    assert str(error) == "No corpus in /data/corpus: name it with corpus."
    assert for_command_line(error) == "No corpus in /data/corpus: name it with --corpus."
