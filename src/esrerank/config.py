"""Settings: defaults, and where they come from (flags > ``ESRERANK_*`` environment > config file
> defaults; the CLI applies that order, the Python API takes arguments)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_INDEX = "esrerank"
DEFAULT_TOP_K = 5
DEFAULT_CANDIDATES = 100
DEFAULT_RERANK_DEPTH = 100
# The cross-encoder's share of a reranked passage's final score (the fused score has the rest)
# until `eval --tune` stores one for the index. At 0.2 the reranker can only swap passages whose
# fused scores lie within a quarter of the pool's range, so an unsuited reranker costs little:
# the bundled one moved nDCG@10 by +0.009 (SciFact) and -0.000 (MS MARCO) at 0.2, against -0.040
# and -0.258 at 1 (benchmarks/results/rerank-weight-*.md; docs/how-the-query-works.md).
DEFAULT_RERANK_WEIGHT = 0.2


def default_data_dir() -> Path:
    """Where the embedded store keeps its indexes: ``$ESRERANK_DATA_DIR`` or the XDG data home."""
    explicit = os.environ.get("ESRERANK_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "esrerank"


def cache_dir(data_dir: str | Path | None = None) -> Path:
    """Where model outputs are cached: the data folder's ``cache/``."""
    return Path(data_dir or default_data_dir()).expanduser() / "cache"


def config_file() -> Path:
    """``$ESRERANK_CONFIG``, else ``./esrerank.toml``, else the XDG config home's copy."""
    explicit = os.environ.get("ESRERANK_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    local = Path("esrerank.toml")
    if local.is_file():
        return local
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "esrerank" / "config.toml"


def load_config(path: Path | None = None) -> dict[str, Any]:
    """Read the TOML config file into ``{command: {option: value}}``; missing file -> ``{}``.

    Top-level keys apply to every command; a ``[query]`` or ``[ingest]`` table to that one.
    """
    path = path or config_file()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise ConfigError(f"Config file {path} is not valid TOML: {exc}") from exc
    shared = {key: value for key, value in data.items() if not isinstance(value, dict)}
    tables = {key: value for key, value in data.items() if isinstance(value, dict)}
    return {"__shared__": shared, **tables}
