"""A read model built by another version of its projection is rebuilt before it is written to."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from domain.application import Actor
from domain.values import Role
from infra.eventstore import open_application
from infra.settings import Settings
from projections.registry import PROJECTIONS, open_workers
from projections.versions import VERSIONS_TABLE, bring_up_to_date

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
ADMIN = Actor(uuid.UUID(int=1), "setup")


@pytest.fixture
def app(settings: Settings):
    application = open_application(settings, clock=lambda: NOW)
    yield application
    application.close()


def execute(settings: Settings, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(settings.schema_name)))
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def build(app) -> None:
    recruiter = app.add_recruiter("Dana", Role.RECRUITER, "ICU", by=ADMIN).result.id
    by = Actor(recruiter, "req")
    contact = app.add_contact("Jordan Lee", "Mercy", by=by).id
    for n in range(3):
        candidate = app.register_candidate(f"Candidate {n}", owner_id=recruiter, by=by).id
        candidacy = app.open_candidacy(candidate, "Mercy", "ICU RN", by=by).id
        app.record_interview(candidacy, NOW - timedelta(days=n + 1), [contact], by=by)


def catch_up(app) -> None:
    for worker in open_workers(app):
        worker.catch_up()
        worker.close()


def test_new_read_models_are_recorded_at_their_version_and_not_rebuilt(app, settings):
    assert bring_up_to_date(app) == []
    build(app)
    catch_up(app)
    assert bring_up_to_date(app) == []
    assert dict(execute(settings, f"SELECT name, version FROM {VERSIONS_TABLE}")) == {
        name: projection.version for name, (projection, _) in PROJECTIONS.items()
    }


def test_a_read_model_built_by_another_version_is_rebuilt_and_its_version_recorded(app, settings):
    build(app)
    bring_up_to_date(app)
    catch_up(app)
    items = execute(settings, "SELECT * FROM follow_up_items ORDER BY candidacy_id, kind, contact_id")
    # As an older version would have left it: something it no longer stores, and its version.
    execute(settings, "DELETE FROM follow_up_items WHERE kind = 'thank_you'")
    execute(settings, f"UPDATE {VERSIONS_TABLE} SET version = version - 1 WHERE name = 'follow_up_queue'")

    assert bring_up_to_date(app) == ["follow_up_queue"]

    assert execute(settings, "SELECT * FROM follow_up_items ORDER BY candidacy_id, kind, contact_id") == items
    assert execute(settings, f"SELECT version FROM {VERSIONS_TABLE} WHERE name = 'follow_up_queue'") == [
        (PROJECTIONS["follow_up_queue"][0].version,)
    ]
    assert bring_up_to_date(app) == []  # once is enough


def test_tables_opened_by_a_process_that_does_not_apply_events_are_recorded_at_their_version(app, settings):
    # As an API process run with --no-projections opens them, before any projection process starts.
    build(app)
    catch_up(app)
    assert dict(execute(settings, f"SELECT name, version FROM {VERSIONS_TABLE}")) == {
        name: projection.version for name, (projection, _) in PROJECTIONS.items()
    }
    assert bring_up_to_date(app) == []


def test_tables_built_before_versions_were_recorded_count_as_version_one(app, settings):
    build(app)
    catch_up(app)
    execute(settings, f"DELETE FROM {VERSIONS_TABLE}")  # as before versions were recorded
    assert bring_up_to_date(app) == [
        name for name, (projection, _) in PROJECTIONS.items() if projection.version != 1
    ]
    assert len(execute(settings, f"SELECT * FROM {VERSIONS_TABLE}")) == len(PROJECTIONS)


def test_opening_a_read_model_built_by_this_version_takes_no_lock_on_its_tables(app, settings):
    """A process starting while another applies a page must not wait on that page's locks: DDL
    there (even CREATE INDEX IF NOT EXISTS) deadlocked an API process with a projection process."""
    build(app)
    bring_up_to_date(app)
    catch_up(app)
    with psycopg.connect(settings.database_url) as page:  # a page being applied: its table locked for writing
        page.execute(sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(
            sql.Identifier(settings.schema_name, "follow_up_items")))
        opened: list = []
        opening = threading.Thread(target=lambda: opened.extend(open_workers(app)), daemon=True)
        opening.start()
        opening.join(timeout=20)
        assert not opening.is_alive(), "opening the read models waited on a lock of their tables"
        page.rollback()
    assert [worker.name for worker in opened] == list(PROJECTIONS)
    for worker in opened:
        assert worker.catch_up() == 0
        worker.close()
