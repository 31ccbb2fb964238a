"""Every read model, and how to open its view and worker on the configured database."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from domain.application import FollowupApplication
from domain.policy import DEFAULT_POLICY, FollowUpPolicy
from projections.follow_up_queue import FollowUpQueueProjection, FollowUpQueueView
from projections.paging import PagedProjection, ProjectionWorker

PROJECTIONS: dict[str, tuple[type[PagedProjection[Any]], type[Any]]] = {
    FollowUpQueueProjection.name: (FollowUpQueueProjection, FollowUpQueueView),
}


def open_projection(
    name: str, app: FollowupApplication, *, policy: FollowUpPolicy = DEFAULT_POLICY
) -> PagedProjection[Any]:
    """The projection with its view (tables created) on the application's database and schema."""
    projection_class, view_class = PROJECTIONS[name]
    factory = InfrastructureFactory.construct(Environment(name, dict(app.env)))
    view = factory.tracking_recorder(view_class)
    if projection_class is FollowUpQueueProjection:
        return projection_class(view, policy)
    return projection_class(view)


def open_workers(
    app: FollowupApplication, *, policy: FollowUpPolicy = DEFAULT_POLICY, names: list[str] | None = None
) -> list[ProjectionWorker]:
    return [ProjectionWorker(app, open_projection(name, app, policy=policy)) for name in (names or list(PROJECTIONS))]
