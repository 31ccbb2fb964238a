"""Every read model, and how to open its view and worker on the configured database."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from domain.application import FollowupApplication
from domain.policy import DEFAULT_POLICY, FollowUpPolicy
from projections.analytics import AnalyticsProjection, AnalyticsView
from projections.audit import AuditProjection, AuditView
from projections.candidates import CandidatesProjection, CandidatesView
from projections.contact_network import ContactNetworkProjection, ContactNetworkView
from projections.follow_up_queue import FollowUpQueueProjection, FollowUpQueueView
from projections.paging import PagedProjection, ProjectionWorker

PROJECTIONS: dict[str, tuple[type[PagedProjection[Any]], type[Any]]] = {
    FollowUpQueueProjection.name: (FollowUpQueueProjection, FollowUpQueueView),
    ContactNetworkProjection.name: (ContactNetworkProjection, ContactNetworkView),
    AnalyticsProjection.name: (AnalyticsProjection, AnalyticsView),
    AuditProjection.name: (AuditProjection, AuditView),
    CandidatesProjection.name: (CandidatesProjection, CandidatesView),
}


def open_projection(
    name: str, app: FollowupApplication, *, policy: FollowUpPolicy = DEFAULT_POLICY, schema: str | None = None
) -> PagedProjection[Any]:
    """The projection with its view (tables created) on the application's database,
    in the application's schema or the one given (where a rebuild builds its copy)."""
    from projections.versions import read_model_state, record_version  # here: they import this module

    projection_class, view_class = PROJECTIONS[name]
    env = _view_environment(app, schema)
    has_tables = True
    if schema is None:
        has_tables, built_by_this_version = read_model_state(app, name)
        if built_by_this_version:
            # Its tables are there, as this version builds them: no DDL. Even CREATE INDEX IF NOT EXISTS
            # locks its table, and an API process starting while a projection process applied a page
            # deadlocked with it, each holding one of the read model's tables and waiting for the other.
            env["CREATE_TABLE"] = "n"
    factory = InfrastructureFactory.construct(Environment(name, env))
    projection = projection_class(factory.tracking_recorder(view_class), policy)
    if not has_tables:
        # Built just now, by this version: say so, or the next process to start would take them
        # for tables of version 1 and rebuild them (see projections.versions).
        record_version(app, name)
    return projection


def create_statements(name: str, app: FollowupApplication, schema: str) -> list[Any]:
    """The DDL of the read model's tables, indexes and SQL views in `schema`, not run."""
    env = {**_view_environment(app, schema), "CREATE_TABLE": "n"}
    view = InfrastructureFactory.construct(Environment(name, env)).tracking_recorder(PROJECTIONS[name][1])
    try:
        return list(view.sql_create_statements)
    finally:
        view.datastore.close()


# A catch-up batch's transaction is idle while the process computes (a contact's relationship items) and
# while it waits for the helper processes' chunks: on a loaded machine that outlasts the library's
# default of 5 s, after which PostgreSQL ends the session, the batch fails, and the catch-up takes the
# same batch in again, to fail the same way. The timeout still ends a session its process left hanging.
VIEW_IDLE_IN_TRANSACTION_TIMEOUT_S = 300


def _view_environment(app: FollowupApplication, schema: str | None) -> dict[str, str]:
    """The library's settings for a read model's view: the application's, in `schema` if given."""
    # Single-row tracking: the row a page locks to apply events exactly once (see PagedView).
    # A worker uses one connection at a time: a small pool keeps PostgreSQL's connection slots free.
    env = {**dict(app.env), "SINGLE_ROW_TRACKING": "y", "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "2",
           "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(VIEW_IDLE_IN_TRANSACTION_TIMEOUT_S)}
    if schema is not None:
        env["POSTGRES_SCHEMA"] = schema
    return env


def open_workers(
    app: FollowupApplication, *, policy: FollowUpPolicy = DEFAULT_POLICY, names: list[str] | None = None
) -> list[ProjectionWorker]:
    return [ProjectionWorker(app, open_projection(name, app, policy=policy)) for name in (names or list(PROJECTIONS))]
