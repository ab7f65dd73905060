"""One writer at a time per embedded index: a lock file beside the database, and a note that names
the process holding it.

The lock is ``filelock``'s (well kept, cross-platform, and an OS lock, so a killed writer, even by
SIGKILL, releases it). The holder's note is a file of its own because the lock file itself is
reopened by every process that tries the lock.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import BackendError, IndexBusyError


@contextmanager
def single_writer(database: Path, index: str) -> Iterator[None]:
    """Hold ``database``'s write lock for the block; raise ``IndexBusyError`` naming the holder
    when another process has it."""
    lock = FileLock(f"{database}.lock")
    note = Path(f"{database}.writer")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise IndexBusyError(
            f"Index '{index}' in {database.parent} is being written by {_holder(note)}. "
            "Wait for that run to finish (or stop it: a re-run resumes where it stopped)."
        ) from None
    except OSError as exc:  # after Timeout, which is an OSError too
        raise BackendError(
            f"Cannot write to the data folder {database.parent} ({exc.strerror or exc}): point "
            "`data_dir` at a folder you can write to.",
            settings=("data_dir",),
        ) from None
    try:
        note.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "command": _command()[:200],
                    "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                }
            )
        )
        yield
    finally:
        note.unlink(missing_ok=True)
        lock.release()


def _command() -> str:
    """This process's command line, short: ``esrerank ingest wiki.json ...``."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    program = "esrerank" if program == "__main__.py" else program
    return " ".join([program, *sys.argv[1:]])


def _holder(note: Path) -> str:
    """The holder as its note describes it."""
    try:
        holder = json.loads(note.read_text())
        return (
            f"process {holder['pid']} on {holder['host']} ('{holder['command']}', "
            f"since {holder['since']})"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
