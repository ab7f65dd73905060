"""Models by name, each loaded once on first use and shared by every index that uses it."""

from __future__ import annotations

import threading

from .bi_encoder import BiEncoder, load_bi_encoder
from .reranker import Reranker
from .runtimes import Runtime
from .score_memory import ScoreMemory


class ModelPool:
    """Loads bi-encoders and cross-encoders with one set of options (device, runtimes, the
    reranker's length, batch and how many scores it remembers), keeps them, and hands the same
    object to every caller. Models given already loaded are used as they are."""

    def __init__(
        self,
        *,
        device: str | None = None,
        bi_encoder_runtime: Runtime = Runtime(),
        rerank_runtime: Runtime = Runtime(),
        rerank_max_length: int = 256,
        rerank_batch_size: int = 16,
        rerank_memory: int = 0,
    ) -> None:
        self.device = device
        self.bi_encoder_runtime = bi_encoder_runtime
        self.rerank_runtime = rerank_runtime
        self.rerank_max_length = rerank_max_length
        self.rerank_batch_size = rerank_batch_size
        self.rerank_memory = rerank_memory
        self._loaded: dict[tuple[str, str], BiEncoder | Reranker] = {}
        self._lock = threading.Lock()  # two threads asking at once load a model once

    def bi_encoder(self, model: str | BiEncoder) -> BiEncoder:
        """The bi-encoder ``model`` (a name or folder), loaded on first use."""
        if not isinstance(model, str):
            return model
        return self._get(
            ("bi", model),
            lambda: load_bi_encoder(model, device=self.device, runtime=self.bi_encoder_runtime),
        )

    def reranker(self, model: str | Reranker) -> Reranker:
        """The cross-encoder ``model`` (a name or folder), loaded on first use."""
        if not isinstance(model, str):
            return model
        return self._get(
            ("cross", model),
            lambda: Reranker(
                model,
                max_length=self.rerank_max_length,
                batch_size=self.rerank_batch_size,
                device=self.device,
                runtime=self.rerank_runtime,
                memory=ScoreMemory(self.rerank_memory),
            ),
        )

    def warm_up(
        self, bi_encoder: str | BiEncoder | None = None, reranker: str | Reranker | None = None
    ) -> None:
        """Load the models named now, so the first request does not wait for them."""
        if bi_encoder is not None:
            self.bi_encoder(bi_encoder)
        if reranker is not None:
            self.reranker(reranker)

    def _get(self, key: tuple[str, str], load):
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = load()
            return self._loaded[key]
