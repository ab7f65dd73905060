"""Running the real ``esrerank`` command in a subprocess, offline, for tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def run_cli(
    *args: str, data_dir: Path, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess:
    """``python -m esrerank ARGS`` with a private data folder and the model hub off."""
    return subprocess.run(
        [sys.executable, "-m", "esrerank", *args],
        capture_output=True,
        text=True,
        env=_environment(data_dir, env),
        cwd=cwd,
        timeout=600,
    )


def start_cli(command: list[str], data_dir: Path, **env: str) -> subprocess.Popen:
    """``command`` started in the same environment as ``run_cli``'s, its output piped."""
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(data_dir, env),
        # A shell without job control starts background jobs (a CI runner's, say) with SIGINT
        # ignored, and children inherit that; a Ctrl-C test needs the terminal's default back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _environment(data_dir: Path, env: dict[str, str]) -> dict[str, str]:
    environment = {"ESRERANK_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "PATH": "", **env}
    if "ESRERANK_MODEL_CACHE" in os.environ:  # the test session's exported models
        environment.setdefault("ESRERANK_MODEL_CACHE", os.environ["ESRERANK_MODEL_CACHE"])
    return environment
