"""Prometheus metrics of the API: requests by route template and status, latency, projection lag."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from domain.application import FollowupApplication
from projections.paging import ProjectionWorker

__all__ = ["CONTENT_TYPE_LATEST", "ApiMetrics"]


class ApiMetrics:
    """One registry per app, so several apps in one process (tests) do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "followup_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "followup_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self.lag = Gauge(
            "followup_projection_lag_events",
            "Events in the log that a projection has not applied yet (log head - its position).",
            ["projection"],
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self, application: FollowupApplication, workers: Sequence[ProjectionWorker]) -> bytes:
        # Lag is measured when scraped, so it is never stale.
        head = application.recorder.max_notification_id() or 0
        for worker in workers:
            self.lag.labels(worker.name).set(max(head - worker.position(), 0))
        return generate_latest(self.registry)
