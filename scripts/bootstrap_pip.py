"""Install pip into the running interpreter's virtual environment from pip's wheel on PyPI, for
interpreters without ensurepip (Debian's python3 without the python3-venv package). A wheel of
pip runs as pip itself (``python pip.whl/pip install pip.whl``), so only the standard library is
needed to fetch it."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

INDEX = "https://pypi.org/pypi/pip/json"


def main() -> None:
    with urllib.request.urlopen(INDEX, timeout=60) as answer:
        release = json.load(answer)
        where = answer.url  # a mirror may answer with links relative to it
    wheel = next(f for f in release["urls"] if f["filename"].endswith("-py3-none-any.whl"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / wheel["filename"]
        with urllib.request.urlopen(
            urllib.parse.urljoin(where, wheel["url"]), timeout=300
        ) as answer:
            path.write_bytes(answer.read())
        command = [sys.executable, f"{path}/pip", "install", "--quiet", str(path)]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
