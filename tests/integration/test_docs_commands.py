"""Every command in a ``console`` block of the documentation runs and succeeds.

A block's lines that start with ``$ `` are commands, run in order, from the repository's root,
on a private embedded store with the model hub off; other lines are output shown to the reader.
A documented command that fails (or one this test cannot run) fails the test, and so the build.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)


def documented_commands(page: Path) -> list[str]:
    """The ``$ `` lines of ``page``'s console blocks, in order."""
    return [
        line[2:]
        for block in CONSOLE.findall(page.read_text(encoding="utf-8"))
        for line in block.splitlines()
        if line.startswith("$ ")
    ]


PAGES = sorted(p for p in (ROOT / "docs").glob("*.md") if documented_commands(p))


def test_the_docs_show_commands_to_run():
    assert PAGES, "no console block in docs/: the commands shown there would go untested"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_documented_commands_succeed(page, tmp_path):
    for command in documented_commands(page):
        argv = shlex.split(command)
        assert argv[0] == "esrerank", f"{page.name}: only esrerank commands run here: {command}"
        done = run_cli(*argv[1:], data_dir=tmp_path / "store", cwd=ROOT)
        where = f"{page.name}: `{command}` exited {done.returncode}"
        assert done.returncode == 0, f"{where}:\n{done.stderr}"
        assert "Traceback" not in done.stderr, f"{where}:\n{done.stderr}"
