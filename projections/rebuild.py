"""Rebuilds a projection beside its live tables, then switches to the new tables.

The copy is built in a schema of its own from position zero while the API and the
live worker go on. Once it has caught up, one transaction drops the live tables and
moves the new ones (their tracking table included) into the live schema. The live
worker reads its position from the tracking table on every page, so it simply goes
on from the rebuilt copy's position: nothing is lost, nothing applied twice."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

from domain.application import FollowupApplication
from domain.policy import DEFAULT_POLICY, FollowUpPolicy
from projections.paging import ProjectionWorker
from projections.registry import open_projection
from projections.versions import record_version

log = logging.getLogger(__name__)


def rebuild_projection(
    name: str,
    app: FollowupApplication,
    *,
    policy: FollowUpPolicy = DEFAULT_POLICY,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Rebuild `name` from the whole log and switch to it; returns the position reached."""
    live_schema = app.env.get("POSTGRES_SCHEMA") or "public"
    build_schema = f"rebuild_{name}_{uuid.uuid4().hex[:8]}"
    datastore: PostgresDatastore = app.recorder.datastore  # type: ignore[attr-defined]
    with datastore.transaction(commit=True) as curs:
        curs.execute(SQL("CREATE SCHEMA {}").format(Identifier(build_schema)))
    projection = open_projection(name, app, policy=policy, schema=build_schema)
    try:
        worker = ProjectionWorker(app, projection)
        head = app.recorder.max_notification_id() or 0
        worker.catch_up(progress=(lambda position: progress(position, head)) if progress else None)
        position = _switch(datastore, build_schema, live_schema, worker)
        record_version(app, name)
        # The dropped live tables took their SQL views with them: create those again.
        open_projection(name, app, policy=policy).view.datastore.close()
        return position
    finally:
        projection.view.datastore.close()
        with datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(build_schema)))


def _switch(datastore: PostgresDatastore, build_schema: str, live_schema: str, worker: ProjectionWorker) -> int:
    """Hold the live worker off (lock its tracking table), let the copy apply the last
    events, then swap the tables; returns the copy's position."""
    tracking_table = worker.projection.view.tracking_table_name
    with datastore.transaction(commit=True) as curs:
        # This transaction waits while the copy catches up on other connections: it is not idle.
        curs.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        curs.execute("SELECT to_regclass(%s) AS live", (f'"{live_schema}"."{tracking_table}"',))
        if curs.fetchone()["live"] is not None:
            curs.execute(SQL("LOCK TABLE {}.{} IN ACCESS EXCLUSIVE MODE").format(
                Identifier(live_schema), Identifier(tracking_table)))
        worker.catch_up()  # on its own connection, into the copy's tables
        position = worker.position()
        curs.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            (build_schema,),
        )
        tables = [row["table_name"] for row in curs.fetchall()]
        for table in tables:
            curs.execute(SQL("DROP TABLE IF EXISTS {}.{} CASCADE").format(Identifier(live_schema), Identifier(table)))
        for table in tables:
            curs.execute(
                SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(
                    Identifier(build_schema), Identifier(table), Identifier(live_schema)
                )
            )
    log.info("switched %s tables from %s to %s", len(tables), build_schema, live_schema)
    return position
