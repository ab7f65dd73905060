"""The engines' ``filter_path`` URL parameter, applied to an answer esrerank rebuilt: comma
separated dotted paths, ``*`` inside a name, ``**`` for any depth, ``-`` before a path to leave
it out; arrays are walked through. Written here because no library implements it: it is a few
lines, and the engines apply it to the whole answer, which esrerank must do after reordering."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

MISSING = object()


def apply_filter_path(answer: Any, spec: str) -> Any:
    """``answer`` reduced to the paths ``spec`` keeps (``{}`` when none matches)."""
    paths = [p.strip() for p in spec.split(",") if p.strip()]
    includes = [p.split(".") for p in paths if not p.startswith("-")]
    excludes = [p[1:].split(".") for p in paths if p.startswith("-")]
    if includes:
        answer = kept(answer, includes)
    if excludes and answer is not MISSING:
        answer = dropped(answer, excludes)
    return {} if answer is MISSING else answer


def following(key: str, paths: list[list[str]]) -> list[list[str]]:
    """What remains of each path after it steps into ``key``."""
    rest = []
    for path in paths:
        head = path[0]
        if head == "**":
            rest.append(path)  # ** takes this level and may take more
            if len(path) == 1:
                rest.append([])
            elif fnmatchcase(key, path[1]):
                rest.append(path[2:])
        elif fnmatchcase(key, head):
            rest.append(path[1:])
    return rest


def kept(value: Any, paths: list[list[str]]) -> Any:
    if any(not path for path in paths):
        return value
    if isinstance(value, list):
        items = [item for item in (kept(v, paths) for v in value) if item is not MISSING]
        return items or MISSING
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            rest = following(key, paths)
            if rest and (found := kept(item, rest)) is not MISSING:
                out[key] = found
        return out or MISSING
    return MISSING


def dropped(value: Any, paths: list[list[str]]) -> Any:
    if any(not path for path in paths):
        return MISSING
    if isinstance(value, list):
        return [item for item in (dropped(v, paths) for v in value) if item is not MISSING]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            rest = following(key, paths)
            found = dropped(item, rest) if rest else item
            if found is not MISSING:
                out[key] = found
        return out
    return value
