"""The cross-encoder reranker: scores (query, passage) pairs in length-sorted batches."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import ModelError
from .models import DEFAULT_CROSS_ENCODER, OFFLINE_CROSS_ENCODER, bundled_available, load_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RerankOutcome:
    """Scores aligned with the passages given, or ``scores=None`` with the reason."""

    scores: np.ndarray | None
    reason: str = ""
    seconds: float = 0.0

    @property
    def reranked(self) -> bool:
        return self.scores is not None


class Reranker:
    """A sentence-transformers ``CrossEncoder`` with one relevance score per pair.

    When the default hub model cannot be loaded (offline, not cached), the reranker shipped with
    esrerank is used and ``name`` says so."""

    def __init__(
        self,
        name: str = DEFAULT_CROSS_ENCODER,
        max_length: int = 256,
        batch_size: int = 16,
        device: str | None = None,
    ) -> None:
        from sentence_transformers import CrossEncoder

        self.batch_size = batch_size

        def load(model_name: str):
            return load_model(
                model_name,
                "cross-encoder",
                lambda location: CrossEncoder(location, max_length=max_length, device=device),
            )

        try:
            self.model = load(name)
        except ModelError as exc:
            if name != DEFAULT_CROSS_ENCODER or not bundled_available(OFFLINE_CROSS_ENCODER):
                raise
            log.warning(
                "cross-encoder '%s' could not be loaded; using the bundled %s instead.",
                name,
                OFFLINE_CROSS_ENCODER,
            )
            log.debug("why: %s", exc)
            name = OFFLINE_CROSS_ENCODER
            self.model = load(name)
        self.name = name
        if self.model.num_labels != 1:
            raise ModelError(
                f"cross-encoder '{name}' has {self.model.num_labels} output labels; a reranker "
                "needs exactly one relevance score."
            )

    def score(
        self, query: str, passages: Sequence[str], timeout: float | None = None
    ) -> RerankOutcome:
        """Score every passage against ``query``; never raises for a failure of the model itself.

        Pairs are sorted by length so each batch pads little. When ``timeout`` seconds pass
        before all batches are done, the outcome says so and carries no scores.
        """
        started = time.perf_counter()
        order = sorted(range(len(passages)), key=lambda i: len(passages[i]))
        scores = np.zeros(len(passages), dtype=np.float64)
        try:
            for begin in range(0, len(order), self.batch_size):
                batch = order[begin : begin + self.batch_size]
                pairs = [(query, passages[i]) for i in batch]
                scores[batch] = self.model.predict(
                    pairs, batch_size=len(pairs), show_progress_bar=False, convert_to_numpy=True
                )
                elapsed = time.perf_counter() - started
                if (
                    timeout is not None
                    and elapsed > timeout
                    and begin + self.batch_size < len(order)
                ):
                    return RerankOutcome(
                        None, f"timed out after {elapsed:.1f}s (limit {timeout:g}s)", elapsed
                    )
        except Exception as exc:  # noqa: BLE001 - reported in the response, not swallowed
            log.warning("reranking failed: %s", exc)
            return RerankOutcome(
                None, f"cross-encoder failed: {exc}", time.perf_counter() - started
            )
        return RerankOutcome(scores, "", time.perf_counter() - started)


def reranked_order(
    pool: Sequence[str], scores: Sequence[float], following: Sequence[str] = ()
) -> list[str]:
    """The pool by score, best first (pool position breaks ties), then ``following``."""
    ranked = sorted(range(len(pool)), key=lambda i: (-scores[i], i))
    return [pool[i] for i in ranked] + list(following)
