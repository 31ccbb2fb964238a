"""How far behind the log each projection is, in events and in seconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from eventsourcing.application import Application

from projections.paging import ProjectionWorker


@dataclass(frozen=True)
class ProjectionLag:
    name: str
    position: int
    head: int
    events_behind: int
    seconds_behind: float


def log_head(app: Application) -> int:
    return app.recorder.max_notification_id() or 0


def projection_lag(worker: ProjectionWorker, head: int | None = None) -> ProjectionLag:
    """Seconds behind: how long ago the oldest event not yet applied was recorded."""
    head = log_head(worker.app) if head is None else head
    position = worker.position()
    seconds = 0.0
    if position < head:
        (oldest,) = worker.app.recorder.select_notifications(start=position + 1, limit=1)
        recorded_at = worker.app.mapper.to_domain_event(oldest).timestamp
        seconds = max(0.0, (datetime.now(UTC) - recorded_at).total_seconds())
    return ProjectionLag(worker.name, position, head, head - position, seconds)
