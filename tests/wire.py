"""plugin/opensearch/wire.py, loaded as a module (it is a script in plugin/, not a package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

WIRE = Path(__file__).parents[1] / "plugin" / "opensearch" / "wire.py"


def load_wire():
    spec = importlib.util.spec_from_file_location("wire", WIRE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
