"""Read models rebuilt by themselves when their projection's version changes.

Each projection has a `version`, raised whenever its tables or what it stores in them
change. The version a read model's tables were built by is kept in read_model_versions.
Before a process starts applying events, `bring_up_to_date` rebuilds (beside the live
tables, then switched in: see projections.rebuild) every read model built by another
version, so new code never writes into tables of an older shape. A read model with no
tables yet is simply built from zero by its worker. Every process of a deployment runs
the same version; processes start one at a time (infra.eventstore.one_process_at_a_time),
so two of them do not both rebuild."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
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
    rebuilt = []
    for name in names or list(PROJECTIONS):
        version = PROJECTIONS[name][0].version
        has_tables, recorded, built_by = _built_by(datastore, name)
        if has_tables and built_by != version:
            log.warning("read model %s was built by version %s of its projection, this is version %s: "
                        "rebuilding it", name, built_by, version)
            rebuild_projection(name, app, policy=policy)  # which records the version
            rebuilt.append(name)
        elif recorded != version:
            record_version(app, name)  # tables of this version, or none yet (its worker builds them from zero)
    return rebuilt


def read_model_state(app: FollowupApplication, name: str) -> tuple[bool, bool]:
    """Whether the read model's tables exist, and whether they are built by this version of its projection."""
    datastore: PostgresDatastore = app.recorder.datastore  # type: ignore[attr-defined]
    with datastore.transaction(commit=True) as curs:
        has_tables, recorded = _state(curs, datastore.schema, name)
    return has_tables, has_tables and recorded == PROJECTIONS[name][0].version


def read_models_of_another_version(app: FollowupApplication) -> list[str]:
    """The read models whose tables were built by another version of their projection."""
    datastore: PostgresDatastore = app.recorder.datastore  # type: ignore[attr-defined]
    stale = []
    for name, (projection, _) in PROJECTIONS.items():
        has_tables, _, built_by = _built_by(datastore, name)
        if has_tables and built_by != projection.version:
            stale.append(name)
    return stale


def record_version(app: FollowupApplication, name: str) -> None:
    """Say that the read model's tables are now built by this version of its projection."""
    datastore: PostgresDatastore = app.recorder.datastore  # type: ignore[attr-defined]
    with datastore.transaction(commit=True) as curs:
        _create_table(curs, datastore.schema)
        _record(curs, datastore.schema, name, PROJECTIONS[name][0].version)


def _create_table(curs: Cursor[DictRow], schema: str) -> None:
    curs.execute(SQL("CREATE TABLE IF NOT EXISTS {}.{} (name text PRIMARY KEY, version integer NOT NULL, "
                     "recorded_at timestamptz NOT NULL DEFAULT now())").format(
        Identifier(schema), Identifier(VERSIONS_TABLE)))


def _record(curs: Cursor[DictRow], schema: str, name: str, version: int) -> None:
    curs.execute(
        SQL("INSERT INTO {}.{} (name, version) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE "
            "SET version = EXCLUDED.version, recorded_at = now()").format(Identifier(schema), Identifier(VERSIONS_TABLE)),
        (name, version),
    )


def _built_by(datastore: PostgresDatastore, name: str) -> tuple[bool, int | None, int]:
    """Whether the read model has tables, the version recorded for it, and the version that built
    its tables (one recorded for none was built before versions were recorded)."""
    with datastore.transaction(commit=True) as curs:
        has_tables, recorded = _state(curs, datastore.schema, name)
    return has_tables, recorded, recorded if recorded is not None else UNRECORDED_VERSION


def _state(curs: Cursor[DictRow], schema: str, name: str) -> tuple[bool, int | None]:
    """Whether the read model has tables, and the version recorded for it (None if none)."""
    _create_table(curs, schema)
    curs.execute("SELECT to_regclass(%s) IS NOT NULL AS has_tables", (f'"{schema}"."{name}_tracking"',))
    has_tables = curs.fetchone()["has_tables"]
    curs.execute(SQL("SELECT version FROM {}.{} WHERE name = %s").format(
        Identifier(schema), Identifier(VERSIONS_TABLE)), (name,))
    row = curs.fetchone()
    return bool(has_tables), (row["version"] if row is not None else None)
