"""The package's layers: a module imports only from its own layer or the ones below it.

Reading down: the command line and the server use the Searcher and the workbenches (evaluation,
training), which are made of indexing and search, which are made of the parts (fusion, corpus
readers, models, engine backends), which share only the types, errors and configuration. An
arrow the other way would tie a part to what is built from it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import esrerank

PACKAGE = Path(esrerank.__file__).parent
LAYERS = {
    "types": 0,
    "errors": 0,
    "config": 0,
    "digests": 0,
    "fusion": 1,
    "corpus": 1,
    "models": 1,
    "backends": 1,
    "indexing": 2,
    "search": 2,
    "searcher": 3,
    "evaluation": 3,
    "training": 3,
    "workbench": 3,
    "cli": 4,
    "serve": 4,
    "__init__": 4,
    "__main__": 4,
}


def _part(module: tuple[str, ...]) -> str:
    """The layer a module belongs to: its first name below ``esrerank``."""
    return module[0] if module else "__init__"


def _imports(path: Path) -> set[tuple[str, ...]]:
    """The ``esrerank`` modules ``path`` imports, as name tuples below ``esrerank``."""
    here = path.relative_to(PACKAGE).with_suffix("").parts
    package = here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = base + tuple(node.module.split(".")) if node.module else base
            elif node.module and node.module.split(".")[0] == "esrerank":
                target = tuple(node.module.split(".")[1:])
            else:
                continue
            found.add(target)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "esrerank":
                    found.add(tuple(alias.name.split(".")[1:]))
    return found


def test_every_part_of_the_package_has_a_layer():
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert modules | packages <= set(LAYERS), (
        f"give a layer to: {(modules | packages) - set(LAYERS)}"
    )


def test_no_module_imports_from_a_layer_above_its_own():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = _part(path.relative_to(PACKAGE).with_suffix("").parts)
        for target in _imports(path):
            if LAYERS[_part(target)] > LAYERS[own]:
                upward.append(f"{path.relative_to(PACKAGE)} -> esrerank.{'.'.join(target)}")
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)
