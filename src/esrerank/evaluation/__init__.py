"""``esrerank eval`` as a library: retrieval strategies compared on judged queries, and the
fusion and rerank weight tuned and stored with the index.

Needs the ``eval`` extra (pytrec-eval-terrier, matplotlib): ``pip install 'esrerank[eval]'``."""

from __future__ import annotations

from .data import EvalData, index_name_for, load_eval_data
from .judgments import export_beir, import_beir, judged_data
from .plan import ensure_index, reporting_and_tuning_queries, require_eval_extra
from .report import markdown, write
from .runner import Evaluation
from .session import evaluate, tune_index
from .strategies import DEFAULT_STRATEGIES, RERANKED, STRATEGIES, check_strategies

__all__ = [
    "DEFAULT_STRATEGIES",
    "EvalData",
    "Evaluation",
    "RERANKED",
    "STRATEGIES",
    "check_strategies",
    "ensure_index",
    "evaluate",
    "export_beir",
    "import_beir",
    "index_name_for",
    "judged_data",
    "load_eval_data",
    "markdown",
    "reporting_and_tuning_queries",
    "require_eval_extra",
    "tune_index",
    "write",
]
