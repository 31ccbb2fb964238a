"""Read models rebuilt by themselves when their projection's version changes.

Each projection has a `version`, raised whenever its tables or what it stores in them
change. The version a read model's tables were built by is kept in read_model_versions.
Before a process starts applying events, `bring_up_to_date` rebuilds (beside the live
tables, then switched in: see projections.rebuild) every read model built by another
version, so new code never writes into tables of an older shape. A read model with no
tables yet is simply built from zero by its worker. Every process of a deployment runs
the same version; an advisory lock keeps two processes starting together from both
rebuilding."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import psycopg
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

from domain.application import FollowupApplication
from domain.policy import DEFAULT_POLICY, FollowUpPolicy
from projections.registry import PROJECTIONS

log = logging.getLogger(__name__)

VERSIONS_TABLE = "read_model_versions"
# A read model whose tables exist but whose version was never recorded was built before
# versions were recorded: by version 1.
UNRECORDED_VERSION = 1


def bring_up_to_date(
    app: FollowupApplication, names: Sequence[str] | None = None, *, policy: FollowUpPolicy = DEFAULT_POLICY
) -> list[str]:
    """Rebuild the read models (all, or `names`) built by another version; returns those rebuilt."""
    from projections.rebuild import rebuild_projection  # here: projections.rebuild imports this module

    datastore: PostgresDatastore = app.recorder.datastore  # type: ignore[attr-defined]
    schema = datastore.schema
    rebuilt = []
    # A connection of its own, holding the lock for as long as rebuilds take.
    with psycopg.connect(_connection_params(datastore), autocommit=True) as conn:
        _create_table(conn, schema)
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"followup read model versions {schema}",))
        try:
            for name in names or list(PROJECTIONS):
                version = PROJECTIONS[name][0].version
                has_tables, recorded = _state(conn, schema, name)
                built_by = recorded if recorded is not None else UNRECORDED_VERSION
                if has_tables and built_by != version:
                    log.warning("read model %s was built by version %s of its projection, this is version %s: "
                                "rebuilding it", name, built_by, version)
                    rebuild_projection(name, app, policy=policy)  # which records the version
                    rebuilt.append(name)
                elif recorded != version:
                    _record(conn, schema, name, version)  # new tables are built from zero by this version
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (f"followup read model versions {schema}",))
    return rebuilt


def record_version(app: FollowupApplication, name: str) -> None:
    """Say that the read model's tables are now built by this version of its projection."""
    datastore: PostgresDatastore = app.recorder.datastore  # type: ignore[attr-defined]
    with psycopg.connect(_connection_params(datastore), autocommit=True) as conn:
        _create_table(conn, datastore.schema)
        _record(conn, datastore.schema, name, PROJECTIONS[name][0].version)


def _create_table(conn: psycopg.Connection, schema: str) -> None:
    conn.execute(SQL("CREATE TABLE IF NOT EXISTS {}.{} (name text PRIMARY KEY, version integer NOT NULL, "
                     "recorded_at timestamptz NOT NULL DEFAULT now())").format(
        Identifier(schema), Identifier(VERSIONS_TABLE)))


def _record(conn: psycopg.Connection, schema: str, name: str, version: int) -> None:
    conn.execute(
        SQL("INSERT INTO {}.{} (name, version) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE "
            "SET version = EXCLUDED.version, recorded_at = now()").format(Identifier(schema), Identifier(VERSIONS_TABLE)),
        (name, version),
    )


def _state(conn: psycopg.Connection, schema: str, name: str) -> tuple[bool, int | None]:
    """Whether the read model has tables, and the version recorded for it (None if none)."""
    tracking_table = f"{name}_tracking"
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{schema}"."{tracking_table}"',)).fetchone()
    row = conn.execute(SQL("SELECT version FROM {}.{} WHERE name = %s").format(
        Identifier(schema), Identifier(VERSIONS_TABLE)), (name,)).fetchone()
    return bool(exists and exists[0]), (row[0] if row is not None else None)


def _connection_params(datastore: PostgresDatastore) -> str:
    kwargs = datastore.pool.kwargs  # type: ignore[attr-defined]
    return psycopg.conninfo.make_conninfo(**{
        key: kwargs[key] for key in ("dbname", "host", "port", "user", "password") if kwargs.get(key) is not None
    })
