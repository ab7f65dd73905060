"""``/metrics`` in Prometheus' text format (prometheus_client, the reference implementation):
requests and their latency per route, the search stages' latency, the passages each rerank
scored, the scores recalled from memory, rerank fallbacks, and how many requests wait for the
models."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from ..search.pipeline import SearchResult

CONTENT_TYPE = CONTENT_TYPE_LATEST
FALLBACKS = ("timed out", "cross-encoder failed")  # rerank reasons that mean it did not finish
OWN_ROUTES = ("/v1/rerank", "/v2/rerank", "/rerank", "/embed", "/healthz", "/metrics")


def route_of(path: str) -> str:
    """A bounded label for a path: esrerank's own routes, ``_search``, ``_msearch``, or
    ``proxy``."""
    if path in OWN_ROUTES:
        return path
    last = path.rstrip("/").rpartition("/")[2]
    return last if last in ("_search", "_msearch") else "proxy"


class Metrics:
    """One server's figures, in a registry of its own."""

    def __init__(self, queue_depth: Callable[[], int], recalled: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "esrerank_requests", "Requests answered", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "esrerank_request_seconds", "Time to answer", ["route"], registry=self.registry
        )
        self.stages = Histogram(
            "esrerank_stage_seconds", "Time in each search stage", ["stage"], registry=self.registry
        )
        self.scored = Histogram(
            "esrerank_rerank_passages_scored",
            "Passages the cross-encoder scored per reranked search (it stops once the page is "
            "known)",
            buckets=(5, 10, 15, 20, 30, 50, 75, 100, 200, 500, 1000),
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "esrerank_rerank_fallbacks",
            "Searches answered in fused order because the rerank timed out or failed",
            registry=self.registry,
        )
        queue = Gauge(
            "esrerank_queue_depth",
            "Requests holding or waiting for the models",
            registry=self.registry,
        )
        queue.set_function(queue_depth)
        Gauge(
            "esrerank_rerank_scores_recalled",
            "Cross-encoder scores answered from memory (--rerank-memory) since the start",
            registry=self.registry,
        ).set_function(recalled)

    def request(self, path: str, status: int, seconds: float) -> None:
        route = route_of(path)
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def search(self, result: SearchResult) -> None:
        for stage, seconds in result.timings.items():
            self.stages.labels(stage).observe(seconds)
        if result.reranked:
            self.scored.observe(result.rerank_scored)
        if fell_back(result):
            self.fallbacks.inc()

    def text(self) -> bytes:
        return generate_latest(self.registry)


def fell_back(result: SearchResult) -> bool:
    """The search asked for a rerank that timed out or failed: its hits are in fused order."""
    return not result.reranked and result.rerank_reason.startswith(FALLBACKS)
