"""Copying an index into a new one with other settings, then swapping the copy in under the
old name: for a setting an engine fixes when an index is created (OpenSearch's ``index.knn``)."""

from __future__ import annotations

import time
from typing import Any

from ..errors import BackendError, ConfigError
from .rest import RestBackend

# Settings an engine sets itself on every index, or that would stop the copy being written.
ENGINE_SETTINGS = ("uuid", "creation_date", "provided_name", "version", "resize", "blocks")
POLL_SECONDS = 1.0


def copy_and_swap(backend: RestBackend, name: str, settings: dict[str, Any]) -> tuple[str, str]:
    """Copy the index ``name`` (or the one index it aliases) into a new index with the same
    mapping and ``settings`` added, writes to the original blocked meanwhile; once the copy
    holds every document, ``name`` and the original's aliases point at it, and an original
    that was ``name`` itself is deleted (an aliased one is kept). Returns (original, copy).
    A failure deletes the copy and leaves the original as it was, writable."""
    concrete = backend.concrete(name)
    if len(concrete) != 1:
        raise ConfigError(
            f"'{name}' names {len(concrete)} indices ({', '.join(concrete)}): attach one index."
        )
    original = concrete[0]
    client = backend.client
    definition = client.request("GET", f"/{original}")[original]
    own = {k: v for k, v in definition["settings"]["index"].items() if k not in ENGINE_SETTINGS}
    copy = f"{original}-{time.strftime('%Y%m%d%H%M%S')}"
    body = {"settings": {"index": {**own, **settings}}, "mappings": definition["mappings"]}
    client.request("PUT", f"/{copy}", body)
    _block_writes(backend, original, True)
    try:
        _reindex(backend, original, copy)
        held, copied = backend.count(original), backend.count(copy)
        if held != copied:
            raise BackendError(
                f"The copy of '{original}' holds {copied} documents, not {held}: '{name}' is "
                "unchanged."
            )
        aliases = sorted(set(definition.get("aliases", {})) | ({name} - {original}))
        actions: list[dict[str, Any]] = [{"add": {"index": copy, "alias": a}} for a in aliases]
        if name == original:
            actions += [{"add": {"index": copy, "alias": name}}, {"remove_index": {"index": name}}]
        else:
            actions += [{"remove": {"index": original, "alias": a}} for a in aliases]
        client.request("POST", "/_aliases", {"actions": actions})
    except BaseException:
        client.request("DELETE", f"/{copy}")
        raise
    finally:
        if backend.index_exists(original):
            _block_writes(backend, original, False)
    backend.forget(name)
    return original, copy


def _block_writes(backend: RestBackend, index: str, blocked: bool) -> None:
    setting = {"index.blocks.write": True if blocked else None}
    backend.client.request("PUT", f"/{index}/_settings", setting)


def _reindex(backend: RestBackend, source: str, target: str) -> None:
    """``_reindex`` as a task, waited for; its failures raised."""
    client = backend.client
    body = {"source": {"index": source}, "dest": {"index": target}}
    task = client.request("POST", "/_reindex", body, params={"wait_for_completion": "false"})
    while True:
        answer = client.request("GET", f"/_tasks/{task['task']}")
        if answer.get("completed"):
            break
        time.sleep(POLL_SECONDS)
    result = answer.get("response") or {}
    failures = result.get("failures") or ([answer["error"]] if "error" in answer else [])
    if failures:
        raise BackendError(
            f"Copying '{source}' failed ({len(failures)} failures, first: "
            f"{str(failures[0])[:200]}): it is unchanged."
        )
    backend.refresh(target)
