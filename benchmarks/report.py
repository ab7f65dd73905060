"""Writing a benchmark's markdown result with the command that made it."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def write_report(lines: list[str], out: Path) -> str:
    """``lines`` plus the command line of this run, printed and written to ``out``."""
    command = "python " + shlex.join(sys.argv)
    text = "\n".join(lines) + f"\n\nCommand: `{command}`\n"
    print(text)
    out.write_text(text)
    return text
