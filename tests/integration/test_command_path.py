"""The command path's shortcuts keep their promises: keys, a candidacy read once, the log's insert, pooled connections."""

from __future__ import annotations

import gc
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from psycopg_pool import ConnectionPool

import infra.recorder
from api.app import create_app
from domain.application import Actor, FollowupApplication
from domain.errors import VersionConflict
from domain.values import Channel, Role
from infra.eventstore import one_process_at_a_time, open_application
from infra.recorder import check_connection
from infra.runtime import GC_THRESHOLDS
from infra.settings import Settings

ACTOR = Actor(uuid.UUID(int=1), "test-command-path")


@pytest.fixture
def app(settings: Settings):
    application = open_application(settings)
    yield application
    application.close()


@pytest.fixture
def other_process_app(settings: Settings):
    """A second application on the same database, as another API process would have."""
    application = open_application(settings)
    yield application
    application.close()


def _candidacy(app: FollowupApplication) -> uuid.UUID:
    owner = app.add_recruiter("Dana Reyes", Role.RECRUITER, "ICU", by=ACTOR).result.id
    candidate = app.register_candidate("Sam Patel", owner_id=owner, by=ACTOR).id
    candidacy = app.open_candidacy(candidate, "Mercy Hospital", "ICU RN", by=ACTOR).id
    contact = app.add_contact("Jordan Lee", "Mercy Hospital", by=ACTOR).id
    app.record_interview(candidacy, datetime.now(UTC) - timedelta(days=2), [contact], by=ACTOR)
    return candidacy


def _events_table(settings: Settings) -> sql.Composed:
    return sql.SQL("{}.followup_events").format(sql.Identifier(settings.schema_name))


# Keys: a process keeps which recruiter a key names, never whether the key is still good.


def test_a_known_key_rotated_or_deactivated_by_another_process_is_refused_at_once(app, other_process_app):
    added = app.add_recruiter("Rory Rotate", Role.RECRUITER, "rotation", by=ACTOR)
    assert app.recruiter_for_key(added.api_key).id == added.result.id  # now known to this process

    rotated = other_process_app.rotate_key(added.result.id, by=ACTOR)
    assert app.recruiter_for_key(added.api_key) is None
    assert app.recruiter_for_key(rotated.api_key).id == added.result.id

    other_process_app.deactivate_recruiter(added.result.id, by=ACTOR)
    assert app.recruiter_for_key(rotated.api_key) is None
    assert app.recruiter_for_key(added.api_key) is None


def test_a_known_key_costs_one_stream_read_and_an_unknown_key_is_not_remembered(app, monkeypatch):
    added = app.add_recruiter("Kim Known", Role.RECRUITER, "keys", by=ACTOR)
    assert app.recruiter_for_key(added.api_key) is not None
    read = []
    select_events = app.recorder.select_events

    def counted(originator_id, **kwargs):
        read.append(originator_id)
        return select_events(originator_id, **kwargs)

    monkeypatch.setattr(app.recorder, "select_events", counted)
    assert app.recruiter_for_key(added.api_key).id == added.result.id
    assert read == [added.result.id]  # the recruiter, read afresh; not the key's index

    read.clear()
    assert app.recruiter_for_key("fu_unknown") is None
    assert app.recruiter_for_key("fu_unknown") is None
    assert len(read) == 2  # an unknown key is looked up every time


# A candidacy read once per request.


def test_a_command_on_a_candidacy_read_earlier_appends_once_and_a_stale_one_is_a_conflict(app):
    candidacy_id = _candidacy(app)
    loaded = app.get_candidacy(candidacy_id)
    result = app.send_check_in(candidacy_id, Channel.EMAIL, by=ACTOR, loaded=loaded)
    assert result.version == loaded.version == 3
    assert app.get_candidacy(candidacy_id).version == 3

    stale = app.get_candidacy(candidacy_id)
    app.send_check_in(candidacy_id, Channel.PHONE, by=ACTOR)  # another request appends first
    with pytest.raises(VersionConflict):
        app.send_check_in(candidacy_id, Channel.EMAIL, by=ACTOR, loaded=stale)
    assert app.get_candidacy(candidacy_id).version == 4  # the stale command appended nothing


def test_a_candidacy_read_earlier_is_held_to_if_match_and_must_be_the_one_addressed(app):
    candidacy_id = _candidacy(app)
    loaded = app.get_candidacy(candidacy_id)
    with pytest.raises(VersionConflict):
        app.send_check_in(candidacy_id, Channel.EMAIL, by=ACTOR, expected_version=1, loaded=loaded)
    other_id = _candidacy(app)
    with pytest.raises(ValueError):
        app.send_check_in(other_id, Channel.EMAIL, by=ACTOR, loaded=loaded)
    assert app.get_candidacy(candidacy_id).version == 2
    assert app.get_candidacy(other_id).version == 2


# The log's insert: one statement, still under the table lock, still refusing a concurrent writer.


def test_an_insert_waits_for_the_log_table_lock_and_returns_its_positions(app, settings, database_url):
    candidacy_id = _candidacy(app)
    head = app.recorder.max_notification_id()
    done: list[object] = []
    with psycopg.connect(database_url) as blocker:
        blocker.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(_events_table(settings)))
        writer = threading.Thread(target=lambda: done.append(app.send_check_in(candidacy_id, Channel.EMAIL,
                                                                                by=ACTOR)))
        writer.start()
        time.sleep(0.5)
        assert done == []  # held back while another transaction holds the lock
        blocker.rollback()
    writer.join(10)
    (result,) = done
    assert result.position == head + 1
    assert app.recorder.max_notification_id() == head + 1


def test_two_writers_of_one_version_one_wins_and_the_other_is_a_conflict(app, other_process_app):
    candidacy_id = _candidacy(app)
    mine = app.get_candidacy(candidacy_id)
    theirs = other_process_app.get_candidacy(candidacy_id)
    other_process_app.send_check_in(candidacy_id, Channel.PHONE, by=ACTOR, loaded=theirs)
    with pytest.raises(VersionConflict):
        app.send_check_in(candidacy_id, Channel.EMAIL, by=ACTOR, loaded=mine)
    events = list(app.events.get(candidacy_id))
    assert [event.originator_version for event in events] == [1, 2, 3]


# Pooled connections: checked without a round trip unless the server spoke.


def test_a_quiet_pooled_connection_is_not_pinged_and_an_ended_one_is_replaced(database_url, monkeypatch):
    pings = []
    ping = ConnectionPool.check_connection
    monkeypatch.setattr(infra.recorder.ConnectionPool, "check_connection",
                        staticmethod(lambda conn: (pings.append(conn), ping(conn))))
    with ConnectionPool(database_url, min_size=1, max_size=1, check=check_connection, timeout=5) as pool:
        with pool.connection() as conn:
            first_pid = conn.info.backend_pid
        with pool.connection() as conn:
            assert conn.info.backend_pid == first_pid
        assert pings == []

        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first_pid,))
        time.sleep(0.5)  # the server says goodbye on the connection's socket
        with pool.connection() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            assert conn.info.backend_pid != first_pid
        assert len(pings) == 1


def test_the_event_store_pool_uses_that_check(app):
    assert app.recorder.datastore.pool._check is check_connection


# Opening: one process at a time.


def test_processes_open_one_after_the_other(settings):
    entered = threading.Event()

    def second() -> None:
        with one_process_at_a_time(settings):
            entered.set()

    with one_process_at_a_time(settings):
        thread = threading.Thread(target=second)
        thread.start()
        assert not entered.wait(0.5)
    assert entered.wait(10)
    thread.join()


# The server's long-lived objects are left out of full garbage collections while it runs, and its
# young objects are collected less often.


def test_what_the_app_loaded_at_start_is_frozen_until_it_closes(settings):
    before = gc.get_threshold()
    with TestClient(create_app(settings)) as client:
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLDS
        assert client.get("/healthz").status_code == 200
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
