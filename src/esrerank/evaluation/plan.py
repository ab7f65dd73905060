"""What an evaluation runs on: the queries it reports on and tunes on, an index holding the
corpus, and the packages it needs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import ConfigError
from ..searcher import Searcher
from ..types import IngestReport
from .data import EvalData, load_eval_data

EVAL_PACKAGES = {"pytrec_eval": "pytrec-eval-terrier", "matplotlib": "matplotlib"}


def require_eval_extra() -> None:
    """Fail with what to install when the ``eval`` extra is missing."""
    missing = [pip for module, pip in EVAL_PACKAGES.items() if not importlib.util.find_spec(module)]
    if missing:
        raise ConfigError(
            f"Evaluation needs {' and '.join(missing)}, which is not installed: "
            "pip install 'esrerank[eval]'."
        )


def reporting_and_tuning_queries(
    folder: str | Path,
    split: str = "test",
    *,
    corpus: str | Path | None = None,
    tune: bool = False,
    tune_split: str | None = None,
    tune_fraction: float = 0.5,
    seed: int = 13,
) -> tuple[EvalData, EvalData | None]:
    """The judged queries to report on, and with ``tune`` those to tune on: ``tune_split``,
    else the folder's dev split when it has one (and ``split`` is not dev), else a seeded
    ``tune_fraction`` of ``split`` held out (and left out of the reported queries)."""
    if tune_split is not None and not tune:
        raise ConfigError("A tuning split applies only when tuning.")
    data = load_eval_data(folder, split, corpus)
    if not tune:
        return data, None
    if tune_split is None and (Path(folder) / "qrels" / "dev.tsv").is_file() and split != "dev":
        tune_split = "dev"
    if tune_split == split:
        raise ConfigError(
            f"The tuning split must differ from the reported split ('{split}'): tuning and "
            "reporting on the same queries overstates the result."
        )
    if tune_split:
        return data, load_eval_data(folder, tune_split, corpus)
    tune_on, data = data.held_out(tune_fraction, seed)
    return data, tune_on


def ensure_index(
    searcher: Searcher, data: EvalData, analyzer: str | None = None, progress: bool = False
) -> IngestReport | None:
    """Ingest ``data``'s corpus into the searcher's index unless it exists; the report if it
    was ingested."""
    if searcher.handle.exists() or data.corpus is None:  # no corpus: searching says it is missing
        return None
    return searcher.ingest(data.corpus, analyzer=analyzer, progress=progress)
