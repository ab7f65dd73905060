"""The cross-encoder reranker: scores (query, passage) pairs in length-sorted batches."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .draft_error import Predict, probability_error
from .export import ACTIVATIONS, load_exported
from .hub import (
    DEFAULT_CROSS_ENCODER,
    OFFLINE_CROSS_ENCODER,
    bundled_available,
    hub_unreachable,
    load_model,
)
from .runtimes import Runtime, torch_precision
from .score_memory import ScoreMemory

log = logging.getLogger(__name__)

# Beyond these shares of a query's and its top passages' word pieces, the cross-encoder is not
# run: its vocabulary does not cover the text (see ``Reranker.unreadable``).
SINGLE_LETTER_LIMIT = 0.5
UNKNOWN_LIMIT = 0.1
READ_CHECK_PASSAGES = 10

# The routes a score is remembered under (``ScoreMemory``): the exact one, and a checked route's
# fast draft.
EXACT, DRAFT = "exact", "draft"


@dataclass(frozen=True)
class RerankOutcome:
    """Scores aligned with the passages given, or ``scores=None`` with the reason."""

    scores: np.ndarray | None
    reason: str = ""
    seconds: float = 0.0
    recalled: int = 0  # of the passages, how many the score memory answered (not the model)

    @property
    def reranked(self) -> bool:
        return self.scores is not None


class Reranker:
    """A cross-encoder with one relevance score per pair, run by torch (sentence-transformers),
    ONNX Runtime or OpenVINO (``runtime``; see ``esrerank.models.runtimes``).

    On a checked route (OpenVINO ``bf16-checked``) ``score`` runs fp32 and ``score(draft=True)``
    bf16, whose distance from fp32 ``draft_error`` bounds (``esrerank.models.draft_error``).

    When the default hub model cannot be loaded (offline, not cached), the reranker shipped with
    esrerank is used and ``name`` says so; ``label`` adds the route that runs it. With a
    ``memory`` (``esrerank.models.score_memory``; none by default), a pair it holds is not run
    again."""

    def __init__(
        self,
        name: str = DEFAULT_CROSS_ENCODER,
        max_length: int = 256,
        batch_size: int = 16,
        device: str | None = None,
        runtime: Runtime = Runtime(),
        memory: ScoreMemory | None = None,
    ) -> None:
        self.batch_size = batch_size
        self.memory = memory if memory is not None else ScoreMemory(0)
        self.max_length = max_length
        self.runtime = runtime.for_device(device).resolve("cross-encoder")
        self._draft: Predict | None = None  # the fast route's predictor, on a checked route
        self.draft_error: Callable[[float], float] | None = None
        try:
            self._predict = self._load(name, device)
        except ModelError as exc:
            if name != DEFAULT_CROSS_ENCODER or not bundled_available(OFFLINE_CROSS_ENCODER):
                raise
            log.warning(
                "cross-encoder '%s' could not be loaded (%s); using the bundled %s instead.",
                name,
                hub_unreachable() or exc,
                OFFLINE_CROSS_ENCODER,
            )
            name = OFFLINE_CROSS_ENCODER
            self._predict = self._load(name, device)
        self.name = name

    @property
    def label(self) -> str:
        """The model and the route it runs on, e.g. ``name (openvino int8)``."""
        return f"{self.name} ({self.runtime.describe()})"

    def _load(self, name: str, device: str | None) -> Predict:
        """A function from pairs to scores, for ``name`` on this reranker's runtime; keeps the
        model's tokenizer in ``self.tokenizer``."""
        if self.runtime.checked:
            exact, _ = self._load_exported(name, self.runtime.exact)
            draft, folder = self._load_exported(name, self.runtime.draft)
            self._draft, self.draft_error = draft, probability_error(name, draft, exact, folder)
            return exact
        if self.runtime.name != "torch":
            return self._load_exported(name, self.runtime)[0]
        from sentence_transformers import CrossEncoder

        model = load_model(
            name,
            "cross-encoder",
            lambda location: CrossEncoder(location, max_length=self.max_length, device=device),
        )
        if model.num_labels != 1:
            raise ModelError(
                f"cross-encoder '{name}' has {model.num_labels} output labels; a reranker "
                "needs exactly one relevance score."
            )
        self.tokenizer = model.tokenizer.backend_tokenizer
        activation = type(model.activation_fn).__name__
        to_probability = _probability_of(name, ACTIVATIONS.get(activation, activation))

        def predict(pairs: list[tuple[str, str]]) -> np.ndarray:
            with torch_precision(self.runtime):
                scores = model.predict(
                    pairs, batch_size=len(pairs), show_progress_bar=False, convert_to_numpy=True
                )
            return to_probability(np.asarray(scores, dtype=np.float64))

        return predict

    def _load_exported(self, name: str, runtime: Runtime) -> tuple[Predict, Path]:
        """``name`` exported for ``runtime``: pairs -> probabilities, and the exported folder."""
        model = load_exported(name, "cross-encoder", runtime, self.max_length)
        self.tokenizer = model.tokenizer.tokenizer
        to_probability = _probability_of(name, model.manifest.get("activation"))
        return (lambda pairs: to_probability(model.run(pairs).reshape(-1))), model.folder

    def unreadable(self, texts: Sequence[str]) -> str:
        """Why the model's vocabulary does not cover ``texts`` (a query and its top passages),
        or "" when it does: most of its word pieces are single letters (Hangul cut into jamo,
        kana, hanzi one by one) or unknown tokens. English runs at 2-7% single letters."""
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        pieces = [p.removeprefix("##").lstrip("\u2581") for e in encodings for p in e.tokens]
        unknown = sum(1 for p in pieces if p == self.unknown_token) / max(1, len(pieces))
        words = [p for p in pieces if any(c.isalpha() for c in p)]
        letters = sum(1 for p in words if len(p) == 1) / max(1, len(words))
        if letters > SINGLE_LETTER_LIMIT or unknown > UNKNOWN_LIMIT:
            return (
                f"the reranker's vocabulary does not cover this text ({letters:.0%} of its word "
                f"pieces are single letters, {unknown:.0%} unknown)"
            )
        return ""

    @cached_property
    def unknown_token(self) -> str | None:
        """The tokenizer's unknown token, e.g. ``[UNK]``."""
        model = json.loads(self.tokenizer.to_str()).get("model", {})
        return model.get("unk_token")

    def score(
        self,
        query: str,
        passages: Sequence[str],
        timeout: float | None = None,
        draft: bool = False,
    ) -> RerankOutcome:
        """Score every passage against ``query``: the model's probability that the passage is
        relevant, in [0, 1], on the fast route with ``draft`` where the route is checked. Never
        raises for a failure of the model itself.

        Pairs are sorted by length so each batch pads little; pairs ``memory`` still holds are
        not run again. When ``timeout`` seconds pass before all batches are done, the outcome
        says so and carries no scores.
        """
        started = time.perf_counter()
        drafting = draft and self._draft is not None
        predict = self._draft if drafting else self._predict
        # An exact score stands in for a draft: it is within any bound of itself.
        routes = (EXACT, DRAFT) if drafting else (EXACT,)
        known = self.memory.recall(routes, query, passages)
        scores = np.array([0.0 if s is None else s for s in known], dtype=np.float64)
        missing = [i for i, s in enumerate(known) if s is None]
        order = sorted(missing, key=lambda i: len(passages[i]))
        try:
            for begin in range(0, len(order), self.batch_size):
                batch = order[begin : begin + self.batch_size]
                texts = [passages[i] for i in batch]
                scores[batch] = predict([(query, text) for text in texts])
                self.memory.keep(routes[-1], query, texts, scores[batch])
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
        recalled = len(passages) - len(missing)
        return RerankOutcome(scores, "", time.perf_counter() - started, recalled)


def _probability_of(name: str, activation: str | None) -> Callable[[np.ndarray], np.ndarray]:
    """What turns ``name``'s outputs into probabilities: nothing after its own sigmoid, a
    sigmoid (in float64) after a head without activation; any other head is refused, since its
    scores have no bound the final order can rely on."""
    if activation == "sigmoid":
        return lambda scores: scores
    if activation == "identity":
        return lambda logits: 1.0 / (1.0 + np.exp(-logits))
    raise ModelError(
        f"cross-encoder '{name}' ends in a {activation or 'custom'} activation; esrerank needs "
        "a relevance probability: a head with a sigmoid or with no activation (one logit)."
    )
