"""serve's searcher per index: one for each index the applications search, sharing the backend
and the loaded models, made only for an index that exists and kept in last-used order up to a
bound, so names made up by clients cannot grow the server's memory."""

from __future__ import annotations

import threading
from collections import OrderedDict

from ..backends.schema import IndexSchema
from ..searcher import Searcher

DEFAULT_OPEN = 64  # searchers kept beside the one serve was started with


class Searchers:
    """The started ``searcher`` and, for other indices, up to ``limit`` more made like it."""

    def __init__(self, searcher: Searcher, limit: int = DEFAULT_OPEN) -> None:
        self.started = searcher
        self.limit = limit
        self._open: OrderedDict[str, tuple[Searcher, IndexSchema]] = OrderedDict()
        self._lock = threading.Lock()

    def open(self, index: str) -> tuple[Searcher, IndexSchema]:
        """The searcher for ``index`` and where the index keeps each part of a passage. Raises
        what reading the index's build record raises (``IndexNotFoundError``, ``BackendError``),
        and then keeps nothing."""
        with self._lock:
            if index in self._open:
                self._open.move_to_end(index)
                return self._open[index]
        searcher = self.started
        if index != searcher.index:
            searcher = Searcher(
                index=index,
                backend=searcher.backend,
                models=searcher.models,
                reranker=searcher.pipeline.reranker_choice,
            )
        found = (searcher, searcher.meta().index_schema())
        with self._lock:
            self._open[index] = found
            self._open.move_to_end(index)
            while len(self._open) > self.limit + 1:  # the started index counts as one more
                self._open.popitem(last=False)
        return found

    def __len__(self) -> int:
        return len(self._open)
