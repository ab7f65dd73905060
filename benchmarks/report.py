"""Writing a benchmark's markdown result with the command that made it."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from esrerank.config import default_data_dir
from esrerank.evaluation.data import EvalData, load_eval_data


def write_report(lines: list[str], out: Path) -> str:
    """``lines`` plus the command line of this run, printed and written to ``out``."""
    command = "python " + shlex.join(sys.argv)
    text = "\n".join(lines) + f"\n\nCommand: `{command}`\n"
    print(text)
    out.write_text(text)
    return text


def judged_split_parser(description: str) -> argparse.ArgumentParser:
    """The arguments of a benchmark over one split of a judged data set."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--index", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--max-queries", type=int, default=None, help="a seeded sample")
    parser.add_argument("--out", type=Path, required=True)
    return parser


def judged_split(args: argparse.Namespace) -> tuple[EvalData, Path]:
    """The split ``args`` name (a seeded sample with ``--max-queries``) and the data folder."""
    data = load_eval_data(args.folder, args.split)
    if args.max_queries is not None and args.max_queries < len(data.queries):
        data = data.sample(args.max_queries, seed=13)
    return data, args.data_dir or default_data_dir()
