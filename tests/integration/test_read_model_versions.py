"""A read model built by another version of its projection is rebuilt before it is written to."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api import app as api_app
from api.app import create_app
from domain.application import Actor
from domain.values import Outcome, Role
from infra.eventstore import open_application
from infra.settings import Settings
from projections.rebuild import rebuild_projection
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
    execute(settings, "DELETE FROM follow_up_candidacy_items WHERE kind = 'thank_you'")
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
            sql.Identifier(settings.schema_name, "follow_up_candidacy_items")))
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


def test_a_queue_of_version_2_with_all_items_in_one_table_is_switched_to_the_view(app, settings):
    """Version 2 of the follow-up queue kept every item in a table named follow_up_items; version 3
    keeps stay_in_touch items apart, and follow_up_items is a view of them all."""
    build(app)
    bring_up_to_date(app)
    catch_up(app)
    for (candidacy,) in execute(settings, "SELECT candidacy_id FROM follow_up_candidacies"):
        app.record_outcome(candidacy, Outcome.REJECTED, by=ADMIN)  # its interviewer is owed a stay-in-touch
    catch_up(app)
    items = execute(settings, "SELECT * FROM follow_up_items ORDER BY candidacy_id, kind, contact_id")
    assert {row[1] for row in items} >= {"thank_you", "stay_in_touch"}
    # The tables as version 2 left them: one table of every item, with its indexes' names.
    execute(settings, "CREATE TABLE old_items AS SELECT * FROM follow_up_items")
    execute(settings, "DROP TABLE follow_up_candidacy_items, follow_up_stay_in_touch, "
                      "follow_up_stay_in_touch_schedules CASCADE")
    execute(settings, "ALTER TABLE old_items RENAME TO follow_up_items")
    execute(settings, "CREATE INDEX follow_up_items_open_by_team ON follow_up_items (team, due_by) "
                      "WHERE done_at IS NULL")
    execute(settings, f"UPDATE {VERSIONS_TABLE} SET version = 2 WHERE name = 'follow_up_queue'")

    # A process that does not apply events (`followup projections status`) opens it as it is.
    for worker in open_workers(app, names=["follow_up_queue"]):
        worker.close()
    assert execute(settings, "SELECT * FROM follow_up_items ORDER BY candidacy_id, kind, contact_id") == items

    assert bring_up_to_date(app) == ["follow_up_queue"]

    assert execute(settings, "SELECT table_type FROM information_schema.tables "
                             "WHERE table_schema = current_schema() AND table_name = 'follow_up_items'") == [("VIEW",)]
    assert execute(settings, "SELECT * FROM follow_up_items ORDER BY candidacy_id, kind, contact_id") == items


def test_a_rebuild_leaves_every_sql_view_of_the_read_model_in_place(app, settings):
    build(app)
    bring_up_to_date(app)
    catch_up(app)
    views = execute(settings, "SELECT table_name FROM information_schema.views "
                              "WHERE table_schema = current_schema() ORDER BY 1")
    assert ("follow_up_items",) in views and ("network_contacts",) in views and ("audit_events",) in views

    for name in PROJECTIONS:
        rebuild_projection(name, app)

    assert execute(settings, "SELECT table_name FROM information_schema.views "
                             "WHERE table_schema = current_schema() ORDER BY 1") == views
    for (view,) in views:
        execute(settings, f"SELECT * FROM {view} LIMIT 1")


def test_an_api_process_that_applies_no_events_waits_for_read_models_rebuilt_to_its_version(
    app, settings, monkeypatch, caplog
):
    """`followup serve --no-projections` started before the projection process of its release: it
    neither reads an older version's tables nor creates its own beside them, but waits for the rebuild."""
    build(app)
    bring_up_to_date(app)
    catch_up(app)
    execute(settings, f"UPDATE {VERSIONS_TABLE} SET version = version - 1 WHERE name = 'follow_up_queue'")
    monkeypatch.setattr(api_app, "REBUILD_POLL_S", 0.1)
    opened, done = threading.Event(), threading.Event()

    def serve() -> None:
        with TestClient(create_app(settings.model_copy(update={"run_projections": False}))) as client:
            assert client.get("/healthz").status_code == 200
            opened.set()
            done.wait(30)

    server = threading.Thread(target=serve, daemon=True)
    with caplog.at_level("WARNING", logger="api.app"):
        server.start()
        assert not opened.wait(2)
        assert "read models follow_up_queue were built by another version" in caplog.text

        assert bring_up_to_date(app) == ["follow_up_queue"]  # what `followup projections run` does first

        assert opened.wait(20), "the API process did not start once the read model was rebuilt"
    done.set()
    server.join(10)
