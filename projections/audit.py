"""The audit index: one row per event of every type, on both time axes, by actor and by stream.

Its table, audit_index, holds each event's type, stream and version, who did it
(actor_id; NULL for API key index entries, which have no actor), the request's
correlation id, when it happened (occurred_at) and when it was recorded
(recorded_at). The view audit_events adds each event's log position, read from the
log itself by (stream, version), its primary key: a decoded event does not carry its
position, and the log is the one place that knows it. The events themselves stay in
the log; this is how to find them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier, Literal

from domain.application import FollowupApplication
from domain.candidacy import Candidacy
from domain.candidate import Candidate
from domain.contact import Contact
from domain.recruiter import ApiKeyIndex, Recruiter
from projections.paging import PagedProjection, PagedView

# The library names an application's log table after the application.
LOG_TABLE = f"{FollowupApplication.name.lower()}_events"

AUDITED_AGGREGATES: tuple[type[Aggregate], ...] = (Recruiter, ApiKeyIndex, Candidate, Contact, Candidacy)


def event_classes(aggregate_class: type[Aggregate]) -> list[type[Any]]:
    """The event classes an aggregate declares (its @event methods), found on the class itself,
    so an event type added later is audited without touching this module."""
    return [
        value
        for name, value in vars(aggregate_class).items()
        if isinstance(value, type) and issubclass(value, aggregate_class.Event) and name not in ("Event", "Created")
    ]


class AuditView(PagedView):
    """The audit index, written with the tracking record in one transaction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sql_create_statements.extend(
            self.sql(statement)
            for statement in (
                """CREATE TABLE IF NOT EXISTS {schema}.audit_index (
                    stream uuid NOT NULL,
                    version bigint NOT NULL,
                    event_type text NOT NULL,
                    aggregate_type text NOT NULL,
                    actor_id uuid,
                    correlation_id text,
                    occurred_at timestamptz,
                    recorded_at timestamptz NOT NULL,
                    PRIMARY KEY (stream, version))""",
                """CREATE INDEX IF NOT EXISTS audit_index_by_actor
                    ON {schema}.audit_index (actor_id, recorded_at)""",
                """CREATE INDEX IF NOT EXISTS audit_index_by_recorded_at
                    ON {schema}.audit_index (recorded_at)""",
                # Only beside the log: a rebuild builds its copy of the index in a schema of its
                # own, and the view is created again in the live schema when the copy is switched in.
                """DO $$ BEGIN
                    IF to_regclass(format('%I.%I', {schema_name}, {log_name})) IS NOT NULL THEN
                        CREATE OR REPLACE VIEW {schema}.audit_events AS
                            SELECT log.notification_id AS position, a.event_type, a.aggregate_type, a.stream,
                                   a.version, a.actor_id, a.correlation_id, a.occurred_at, a.recorded_at
                            FROM {schema}.audit_index a
                            JOIN {schema}.{log} log
                                ON log.originator_id = a.stream AND log.originator_version = a.version;
                    END IF;
                END $$""",
            )
        )

    def sql(self, statement: str) -> Composed:
        return SQL(statement).format(
            schema=Identifier(self.datastore.schema),
            schema_name=Literal(self.datastore.schema),
            log=Identifier(LOG_TABLE),
            log_name=Literal(LOG_TABLE),
        )

    def save_events(self, curs: Cursor[DictRow], events: Sequence[DomainEventProtocol[UUID]]) -> None:
        # Binary COPY: the fastest way psycopg has to send many rows.
        with curs.copy(self.sql(
            "COPY {schema}.audit_index (stream, version, event_type, aggregate_type, actor_id, correlation_id, "
            "occurred_at, recorded_at) FROM STDIN (FORMAT BINARY)"
        )) as copy:
            copy.set_types(["uuid", "int8", "text", "text", "uuid", "text", "timestamptz", "timestamptz"])
            for event in events:
                copy.write_row((
                    event.originator_id,
                    event.originator_version,
                    type(event).__name__,
                    type(event).__qualname__.split(".")[0],
                    getattr(event, "actor_id", None),
                    getattr(event, "correlation_id", None),
                    getattr(event, "occurred_at", None),
                    event.timestamp,
                ))


class AuditProjection(PagedProjection[AuditView]):
    name = "audit"
    # Catching up with the other read models, each full page is written while the next is taken in.
    write_behind = True
    topics = tuple(
        get_topic(event_class)
        for aggregate_class in AUDITED_AGGREGATES
        for event_class in event_classes(aggregate_class)
    )

    def process_page(self, events: Sequence[DomainEventProtocol[UUID]], tracking: Tracking) -> None:
        view = self.view
        with view.datastore.transaction(commit=True) as curs:
            view.start_page(curs, tracking.application_name)
            if events:
                view.save_events(curs, events)
            view.record_tracking(curs, tracking)
