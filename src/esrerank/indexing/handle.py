"""One index on a backend: its build record and the choices ``eval --tune`` stored with it."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from ..backends import Backend, IndexMeta
from ..config import DEFAULT_RERANK_DEPTH, DEFAULT_RERANK_WEIGHT
from ..fusion import FusionSpec
from ..fusion.ensemble import ENSEMBLE, INTERPOLATE
from ..fusion.final_order import FORMULA
from ..models.bi_encoder import BiEncoder
from ..models.hub import DEFAULT_BI_ENCODER

log = logging.getLogger(__name__)

TUNED = ("fusion", "rerank")  # the build record's extras that tuning chooses
HISTORY = "tuning_history"
HISTORY_KEPT = 20


class IndexHandle:
    """``name`` on ``backend``, and the bi-encoder it is used with: ``bi_encoder`` when one was
    chosen, else the index's own (the default for an index that does not exist yet)."""

    def __init__(self, backend: Backend, name: str, bi_encoder: str | BiEncoder | None = None):
        self.backend = backend
        self.name = name
        self.bi_encoder = bi_encoder
        self._meta: IndexMeta | None = None  # the build record, read once until it changes
        self._noted_formula = False

    def exists(self) -> bool:
        return self.backend.index_exists(self.name)

    def encoder_choice(self) -> str | BiEncoder:
        """The bi-encoder to use with this index, by name or loaded."""
        if self.bi_encoder is not None:
            return self.bi_encoder
        return self.meta().model if self.exists() else DEFAULT_BI_ENCODER

    def meta(self) -> IndexMeta:
        """The index's build record, read once (until ``forget_meta``)."""
        if self._meta is None:
            self._meta = self.backend.get_meta(self.name)
        return self._meta

    def rebuilt_with(self, bi_encoder: str | BiEncoder) -> None:
        """The index was rebuilt with ``bi_encoder`` (``reembed``): use it from now on."""
        self.bi_encoder = bi_encoder
        self._meta = None

    def forget_meta(self) -> None:
        """Read the build record again next time (the index was created or changed)."""
        self._meta = None

    def count(self) -> int:
        return self.backend.count(self.name)

    def stored_fusion(self) -> FusionSpec:
        """The fusion stored with the index, else the default."""
        stored = self.meta().extra.get("fusion")
        return FusionSpec.from_dict(stored) if stored else FusionSpec()

    def store_fusion(self, spec: FusionSpec, record: dict) -> None:
        """Keep ``spec`` (and how it was chosen) with the index; searches then use it."""
        self._store_extra("fusion", {**spec.to_dict(), **record})

    def stored_rerank(self, reranker: str | None) -> dict:
        """The rerank choice ``eval --tune`` stored with the index, if made for ``reranker``
        under today's final-score formula (one tuned under another is noted once, and left
        for the default until tuned again)."""
        stored = self.meta().extra.get("rerank") or {}
        if reranker is None or stored.get("reranker") != reranker:
            return {}
        if stored.get("formula") != FORMULA:
            if not self._noted_formula:
                log.warning(
                    "Index '%s' has a rerank weight (%s) tuned under an earlier final-score "
                    "formula; searches use the default %g until 'esrerank eval --tune' tunes "
                    "it again.",
                    self.name,
                    stored.get("weight"),
                    DEFAULT_RERANK_WEIGHT,
                )
                self._noted_formula = True
            return {}
        return stored

    def stored_rerank_weight(self, reranker: str | None) -> float:
        """The rerank weight stored for ``reranker``, else the default."""
        stored = self.stored_rerank(reranker)
        return float(stored["weight"]) if stored else DEFAULT_RERANK_WEIGHT

    def stored_rerank_depth(self, reranker: str | None) -> int:
        """The rerank depth tuned with the weight for ``reranker``, else the default."""
        return int(self.stored_rerank(reranker).get("depth", DEFAULT_RERANK_DEPTH))

    def stored_ensemble(self, reranker: str | None) -> bool:
        """Whether the tuner chose the study's ensemble for ``reranker`` over interpolation."""
        return self.stored_rerank(reranker).get("mode") == ENSEMBLE

    def store_rerank_weight(self, weight: float, record: dict, mode: str = INTERPOLATE) -> None:
        """Keep the rerank weight (or the ensemble, ``mode``) tuned for the reranker named in
        ``record``; searches with that reranker then use it."""
        self._store_extra("rerank", {"weight": weight, "mode": mode, "formula": FORMULA, **record})

    def tuning_history(self) -> list[dict]:
        """The tuned choices as they were before each change made from judgments, oldest
        first (``remember_tuning``)."""
        return list(self.meta().extra.get(HISTORY, []))

    def remember_tuning(self, change: str) -> None:
        """Keep the stored fusion and rerank choice as they are now, so ``undo_tuning`` can
        bring them back after ``change``; the last ``HISTORY_KEPT`` are kept."""
        extra = self.meta().extra
        entry = {"change": change, "date": time.strftime("%Y-%m-%d %H:%M:%S")}
        entry.update({key: extra.get(key) for key in TUNED})
        self._update_extra({HISTORY: [*self.tuning_history(), entry][-HISTORY_KEPT:]})

    def clear_tuning(self, change: str) -> None:
        """Forget the stored fusion and rerank choice, so searches use the defaults; remembered
        first (as ``change``), so ``undo_tuning`` brings them back."""
        self.remember_tuning(change)
        self._update_extra(dict.fromkeys(TUNED))

    def undo_tuning(self) -> dict | None:
        """Bring back the choices before the last remembered change; that entry, or None when
        there is nothing to undo."""
        history = self.tuning_history()
        if not history:
            return None
        last = history.pop()
        self._update_extra({HISTORY: history or None, **{key: last.get(key) for key in TUNED}})
        return last

    def _store_extra(self, key: str, value: dict) -> None:
        self._update_extra({key: value})

    def _update_extra(self, changes: dict) -> None:
        """Set each of ``changes`` in the build record's extras; a value of None removes it."""
        meta = self.meta()
        extra = {**meta.extra, **changes}
        extra = {key: value for key, value in extra.items() if value is not None}
        self.backend.put_meta(self.name, replace(meta, extra=extra))
        self.forget_meta()
