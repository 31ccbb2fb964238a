"""Rebuilds a projection beside its live tables, then switches to the new tables.

The copy is built in a schema of its own from position zero while the API and the
live worker go on. Once it has caught up, one transaction drops the live tables and
moves the new ones (their tracking table included) into the live schema. The live
worker reads its position from the tracking table on every page, so it simply goes
on from the rebuilt copy's position: nothing is lost, nothing applied twice.

One rebuild of a read model runs at a time (a PostgreSQL advisory lock, released with
its connection if the process dies). Holding it, a rebuild drops the build schemas an
earlier one left behind when it was killed: they belong to no running rebuild."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

from domain.application import FollowupApplication
from domain.policy import DEFAULT_POLICY, FollowUpPolicy
from infra.database import advisory_lock_id
from projections.paging import ProjectionWorker, connect_apart
from projections.registry import create_statements, open_projection
from projections.versions import record_version

log = logging.getLogger(__name__)


class RebuildRunning(Exception):
    """Another rebuild of the same read model is running."""


def rebuild_projection(
    name: str,
    app: FollowupApplication,
    *,
    policy: FollowUpPolicy = DEFAULT_POLICY,
    progress: Callable[[int, int], None] | None = None,
    wait: bool = True,
) -> int:
    """Rebuild `name` from the whole log and switch to it; returns the position reached.

    With another rebuild of it running, waits for that one to end, or raises RebuildRunning
    if not `wait`."""
    live_schema = app.env.get("POSTGRES_SCHEMA") or "public"
    datastore: PostgresDatastore = app.recorder.datastore  # type: ignore[attr-defined]
    prefix = build_schema_prefix(live_schema, name)
    with _one_rebuild_at_a_time(datastore, live_schema, name, wait=wait):
        _drop_build_schemas(datastore, prefix)
        build_schema = f"{prefix}{uuid.uuid4().hex[:8]}"
        with datastore.transaction(commit=True) as curs:
            curs.execute(SQL("CREATE SCHEMA {}").format(Identifier(build_schema)))
        projection = open_projection(name, app, policy=policy, schema=build_schema)
        worker = ProjectionWorker(app, projection)
        try:
            head = app.recorder.max_notification_id() or 0
            worker.catch_up(progress=(lambda position: progress(position, head)) if progress else None)
            position = _switch(datastore, build_schema, live_schema, worker,
                               create_statements(name, app, live_schema))
            record_version(app, name)
            return position
        finally:
            worker.close()  # its helper processes and writing thread, its view's connections
            with datastore.transaction(commit=True) as curs:
                curs.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(build_schema)))


def build_schema_prefix(live_schema: str, name: str) -> str:
    """What the names of a read model's build schemas start with: the read model, and a tag of the
    live schema (deployments may share a database), within PostgreSQL's 63 characters."""
    tag = hashlib.sha256(live_schema.encode()).hexdigest()[:8]
    return f"rebuild_{name}_{tag}_"


@contextmanager
def _one_rebuild_at_a_time(datastore: PostgresDatastore, live_schema: str, name: str, *, wait: bool) -> Iterator[None]:
    """Hold the read model's rebuild lock, on a connection of its own kept for the whole rebuild."""
    lock_id = advisory_lock_id(f"followup:rebuild:{live_schema}:{name}")
    with connect_apart(datastore) as conn:
        if wait:
            conn.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
        elif not conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,)).fetchone()[0]:
            raise RebuildRunning(f"a rebuild of {name} is already running")
        yield  # closing the connection releases the lock


def _drop_build_schemas(datastore: PostgresDatastore, prefix: str) -> None:
    with datastore.transaction(commit=True) as curs:
        curs.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,))
        stale = [row["nspname"] for row in curs.fetchall()]
        for schema in stale:
            curs.execute(SQL("DROP SCHEMA {} CASCADE").format(Identifier(schema)))
    if stale:
        log.info("dropped %s build schemas left by an interrupted rebuild: %s", len(stale), ", ".join(stale))


def _switch(
    datastore: PostgresDatastore, build_schema: str, live_schema: str, worker: ProjectionWorker,
    live_statements: list[Any],
) -> int:
    """Hold the live worker off (lock its tracking table), let the copy apply the last
    events, then swap the tables and create the SQL views again on them (`live_statements`: the
    read model's DDL in the live schema), all in one transaction: a query never finds one missing.
    Returns the copy's position."""
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
        # The live relations of the names the copy has as SQL views: the views, and a table of an
        # older version that this one has as a view (it goes too).
        curs.execute(
            "SELECT live.table_name, live.table_type FROM information_schema.tables live "
            "JOIN information_schema.views copy ON copy.table_name = live.table_name AND copy.table_schema = %s "
            "WHERE live.table_schema = %s ORDER BY live.table_name",
            (build_schema, live_schema),
        )
        under_view_names = [(row["table_name"], row["table_type"]) for row in curs.fetchall()]
        # A query of a view locks the view, then its tables; the drops below would take the tables
        # in another order, and deadlock with it. Taking the views first, a query waits for the
        # switch, or the switch for the query.
        for name, _ in under_view_names:
            curs.execute(SQL("LOCK TABLE {}.{} IN ACCESS EXCLUSIVE MODE").format(
                Identifier(live_schema), Identifier(name)))
        replaced_by_views = [name for name, kind in under_view_names if kind == "BASE TABLE"]
        for table in tables + replaced_by_views:
            curs.execute(SQL("DROP TABLE IF EXISTS {}.{} CASCADE").format(Identifier(live_schema), Identifier(table)))
        for table in tables:
            curs.execute(
                SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(
                    Identifier(build_schema), Identifier(table), Identifier(live_schema)
                )
            )
        # The dropped live tables took their SQL views with them; the tables are there already.
        for statement in live_statements:
            curs.execute(statement)
    log.info("switched %s tables from %s to %s", len(tables), build_schema, live_schema)
    return position
