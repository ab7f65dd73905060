"""The README's quickstart from a copy of the repository, on an interpreter that refuses
system-wide installs (PEP 668's EXTERNALLY-MANAGED, as on current Debian and Ubuntu):
``scripts/quickstart.sh`` makes and uses a virtual environment of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow]

REPO = Path(__file__).parents[2]
MARKED = (
    "import os, sys, sysconfig; "
    "marker = os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED'); "
    "print(os.path.isfile(marker) and sys.prefix == sys.base_prefix "
    "and sys.version_info >= (3, 11))"
)


def externally_managed_python() -> str | None:
    """A system Python 3.11+ marked externally managed, if this machine has one."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if not os.access(candidate, os.X_OK):
            continue
        answer = subprocess.run([candidate, "-c", MARKED], capture_output=True, text=True)
        if answer.stdout.strip() == "True":
            return candidate
    return None


# Debian's python3 without the python3-venv package: venv cannot install pip (no ensurepip)
WITHOUT_ENSUREPIP = """#!/bin/sh
if [ "$1" = -m ] && [ "$2" = venv ] && [ "$3" != --without-pip ]; then
  echo "ensurepip is not available" >&2
  exit 1
fi
exec {python} "$@"
"""


@pytest.mark.parametrize("ensurepip", [True, False], ids=["with-ensurepip", "without-ensurepip"])
def test_the_quickstart_runs_where_pip_refuses_the_system_interpreter(tmp_path, ensurepip):
    python = externally_managed_python()
    if python is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs a system python3 marked externally managed (Debian's)")
        pytest.skip("no python3 marked externally managed on this machine")
    repo = tmp_path / "repo"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, repo / name)
    interpreter = tmp_path / "bin"
    interpreter.mkdir()
    if ensurepip:
        (interpreter / "python3").symlink_to(python)
    else:
        (interpreter / "python3").write_text(WITHOUT_ENSUREPIP.format(python=python))
        (interpreter / "python3").chmod(0o755)
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "ESRERANK_VENV", "PYTHON")
    }
    environment.update(
        PATH=f"{interpreter}:/usr/bin:/bin",
        ESRERANK_DATA_DIR=str(tmp_path / "store"),
        ESRERANK_MODEL_CACHE=str(tmp_path / "models"),
        HF_HUB_OFFLINE="1",
    )
    refused = subprocess.run(
        ["python3", "-m", "pip", "install", "--dry-run", "six"],
        capture_output=True,
        text=True,
        env=environment,
    )
    assert refused.returncode != 0  # the premise: this interpreter takes no system-wide installs

    started = subprocess.run(
        ["scripts/quickstart.sh", "bariatric surgery"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=environment,
        timeout=1200,
    )
    assert started.returncode == 0, started.stderr[-3000:]
    assert (repo / ".venv" / "bin" / "esrerank").is_file()
    lines = started.stdout.splitlines()
    table = next(i for i, line in enumerate(lines) if line.split()[:2] == ["#", "passage"])
    assert "reranker esrerank/minilm-l6-scifact-reranker" in lines[table - 1]
    assert [line.split()[0] for line in lines[table + 1 : table + 6]] == ["1", "2", "3", "4", "5"]
