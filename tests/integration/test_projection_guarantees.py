"""Exactly-once projections: live equals rebuilt, across concurrent writers, crashes and rebuilds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import psycopg
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from psycopg import sql

from domain.application import Actor, FollowupApplication
from domain.values import Channel, NoteKind, Role
from infra.eventstore import open_application
from infra.settings import Settings
from projections.rebuild import rebuild_projection
from projections import candidacy_batches, helper_processes, paging
from projections.helper_processes import HelperProcesses
from projections.paging import ProjectionWorker, apply_next_page, catch_up_together
from projections.registry import PROJECTIONS, open_projection, open_workers
from tests.commands import commands, run_command

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
ACTOR = Actor(uuid.UUID(int=7), "guarantees")


def snapshot(settings: Settings) -> dict[str, list[tuple]]:
    """Every row of every projection table, sorted, tracking tables and versions aside."""
    tables: dict[str, list[tuple]] = {}
    with psycopg.connect(settings.database_url) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "AND table_type = 'BASE TABLE' AND table_name <> 'followup_events' "
                "AND table_name NOT LIKE '%%tracking' AND table_name NOT LIKE 'idempotent%%' "
                "AND table_name <> 'read_model_versions'",
                (settings.schema_name,),
            )
        ]
        for name in sorted(names):
            rows = conn.execute(
                sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(settings.schema_name), sql.Identifier(name))
            ).fetchall()
            tables[name] = sorted(rows, key=repr)
    return tables


def seed(app: FollowupApplication, candidacies: int = 3):
    recruiter = app.add_recruiter("Dana", Role.RECRUITER, "ICU", by=ACTOR).result
    contacts = [app.add_contact(f"Contact {i}", "Mercy", by=ACTOR).id for i in range(3)]
    ids = []
    for i in range(candidacies):
        candidate = app.register_candidate(f"Candidate {i}", owner_id=recruiter.id, by=ACTOR).id
        ids.append(app.open_candidacy(candidate, "Mercy", "RN", timezone="America/Chicago", by=ACTOR).id)
    return ids, contacts


# Each example has a schema of its own, so contacts erased in one do not narrow the next.
COMMANDS = commands(candidacies=3, days=20, max_size=25, erasures=True)


@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commands=COMMANDS)
def test_after_any_commands_each_live_projection_equals_a_rebuild(commands, settings: Settings, database_url):
    example = Settings(DATABASE_URL=database_url, FOLLOWUP_SCHEMA=f"h_{uuid.uuid4().hex[:10]}")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(example.schema_name)))
    app = open_application(example, clock=lambda: NOW)
    try:
        candidacies, contacts = seed(app)
        live_workers = open_workers(app)
        for index, command in enumerate(commands):
            run_command(app, command, candidacies, contacts, now=NOW, by=ACTOR)
            if index % 4 == 0:  # the live projections follow along, a few events at a time
                for worker in live_workers:
                    worker.catch_up()
        for worker in live_workers:
            worker.catch_up()
            worker.close()
        live = snapshot(example)
        for name in PROJECTIONS:
            rebuild_projection(name, app)
        assert snapshot(example) == live
    finally:
        app.close()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(example.schema_name)))


def test_concurrent_writers_and_two_workers_miss_nothing_and_apply_nothing_twice(workers, settings: Settings):
    app = open_application(settings, clock=lambda: NOW)
    try:
        candidacies, contacts = seed(app, candidacies=8)
        first, second = workers(app), workers(app)
        for worker in (*first, *second):
            worker.start()

        def write(candidacy):
            app.record_interview(candidacy, NOW - timedelta(days=2), contacts, by=ACTOR)
            for contact in contacts:
                app.send_note(candidacy, contact, NoteKind.THANK_YOU, Channel.EMAIL, NOW - timedelta(days=1), by=ACTOR)
            app.send_check_in(candidacy, Channel.PHONE, by=ACTOR)

        threads = [threading.Thread(target=write, args=(c,)) for c in candidacies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        head = app.recorder.max_notification_id()
        for worker in (*first, *second):
            assert worker.wait_for(head, timeout=30)
            worker.stop()
        live = snapshot(settings)
        for name in PROJECTIONS:
            rebuild_projection(name, app)
        assert snapshot(settings) == live
        items = live["follow_up_candidacy_items"]
        assert len([row for row in items if row[1] == "thank_you"]) == 8 * len(contacts)
    finally:
        app.close()


def test_a_rebuild_while_writes_go_on_ends_identical_to_a_fresh_rebuild(workers, settings: Settings):
    app = open_application(settings, clock=lambda: NOW)
    try:
        candidacies, contacts = seed(app, candidacies=3)
        (live_worker,) = workers(app, names=["follow_up_queue"])
        live_worker.start()
        stop = threading.Event()
        read_errors: list[BaseException] = []

        def keep_writing():
            hours = 0
            while not stop.is_set():
                hours += 1
                app.send_contact_note(contacts[hours % 3], NoteKind.HELPFUL_INFO, Channel.EMAIL,
                                      NOW - timedelta(hours=hours), by=ACTOR)

        def keep_reading():
            with psycopg.connect(settings.database_url) as conn:
                while not stop.is_set():
                    try:
                        conn.execute(sql.SQL("SELECT count(*) FROM {}.follow_up_items").format(
                            sql.Identifier(settings.schema_name))).fetchone()
                        conn.commit()
                    except BaseException as error:  # noqa: BLE001 - any failed read fails the test
                        read_errors.append(error)
                        return

        for candidacy in candidacies:
            app.record_interview(candidacy, NOW - timedelta(days=3), contacts, by=ACTOR)
        writer, reader = threading.Thread(target=keep_writing), threading.Thread(target=keep_reading)
        writer.start(), reader.start()
        time.sleep(0.3)
        rebuild_projection("follow_up_queue", app)
        time.sleep(0.3)
        stop.set()
        writer.join(), reader.join()
        assert live_worker.wait_for(app.recorder.max_notification_id(), timeout=30)
        live_worker.stop()
        assert not read_errors
        live = snapshot(settings)
        rebuild_projection("follow_up_queue", app)
        assert snapshot(settings) == live
    finally:
        app.close()


def test_a_projection_process_killed_mid_stream_resumes_identical_to_a_rebuild(workers, settings: Settings, tmp_path):
    app = open_application(settings, clock=lambda: NOW)
    try:
        candidacies, contacts = seed(app, candidacies=3)
        for i in range(400):
            app.send_contact_note(contacts[i % 3], NoteKind.HELPFUL_INFO, Channel.EMAIL,
                                  NOW - timedelta(minutes=i + 1), by=ACTOR)
        for candidacy in candidacies:
            app.record_interview(candidacy, NOW - timedelta(days=3), contacts, by=ACTOR)
        env = {**os.environ, "DATABASE_URL": settings.database_url, "FOLLOWUP_SCHEMA": settings.schema_name}
        process = subprocess.Popen([sys.executable, "-m", "api.cli", "projections", "run"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        (probe,) = workers(app, names=["follow_up_queue"])
        deadline = time.monotonic() + 60
        while probe.position() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert probe.position() > 0
        for worker in workers(app):
            worker.catch_up()
        live = snapshot(settings)
        for name in PROJECTIONS:
            rebuild_projection(name, app)
        assert snapshot(settings) == live
    finally:
        app.close()


def test_a_catch_up_writes_several_pages_in_one_transaction_once_the_batch_is_full_and_at_the_head(
    settings: Settings,
):
    app = open_application(settings, clock=lambda: NOW)
    try:
        candidacies, contacts = seed(app, candidacies=3)
        for candidacy in candidacies:
            app.record_interview(candidacy, NOW - timedelta(days=3), contacts, by=ACTOR)
        ids = [n.id for n in app.recorder.select_notifications(start=1, limit=1000)]
        assert len(ids) > 12
        # A batch of more than two changed candidacies is evaluated in the helper processes, one candidacy a chunk.
        evaluated_by: list[str] = []
        evaluate = HelperProcesses.evaluate

        def counted_evaluate(helpers: HelperProcesses, chunk):
            evaluated_by.append(name)
            return evaluate(helpers, chunk)

        with patch.object(candidacy_batches, "WRITE_CHUNK", 2), patch.object(helper_processes, "HELPER_CHUNK", 1), \
                patch.object(HelperProcesses, "evaluate", counted_evaluate):
            for name in ("follow_up_queue", "analytics"):
                worker = ProjectionWorker(app, open_projection(name, app), page_size=2, batch_events=6)
                try:
                    written, pages = [], 0
                    while apply_next_page(app, [worker], page_size=2):
                        pages += 1
                        worker.finish_writing()  # both write a full batch behind: see test_write_behind
                        written.append(worker.position())  # the tracking row, as a reader sees it
                        if pages == 2:  # four events taken in, none of them written
                            table = "follow_up_items" if name == "follow_up_queue" else "analytics_candidacies"
                            with psycopg.connect(settings.database_url) as conn:
                                (rows,) = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                                    sql.Identifier(settings.schema_name, table))).fetchone()
                            assert rows == 0, name
                    # Each batch of three pages of two is written as the third is taken in; the rest at the head.
                    full = [ids[6 * (page // 3) - 1] if page >= 3 else 0 for page in range(1, pages + 1)]
                    assert written[:-1] == full[:-1], name
                    assert worker.position() == ids[-1], name
                finally:
                    worker.close()
        assert set(evaluated_by) == {"follow_up_queue", "analytics"}
        # What was written batch by batch is what a rebuild writes in one.
        batched = snapshot(settings)
        for name in ("follow_up_queue", "analytics"):
            rebuild_projection(name, app)
        assert snapshot(settings) == batched
    finally:
        app.close()


def test_a_long_catch_up_leaves_the_planner_statistics_of_the_tables_it_filled(workers, settings: Settings):
    app = open_application(settings)
    try:
        candidacies, contacts = seed(app, candidacies=3)
        for candidacy in candidacies:
            app.record_interview(candidacy, datetime.now(UTC) - timedelta(days=1), contacts, by=ACTOR)
        catch_up_together(app, workers(app), analyze_after=1)  # as a catch-up of ANALYZE_AFTER_EVENTS would
    finally:
        app.close()
    with psycopg.connect(settings.database_url) as conn:
        estimated, counted = conn.execute(
            sql.SQL("SELECT (SELECT reltuples FROM pg_class WHERE oid = {}::regclass), (SELECT count(*) FROM {})").format(
                sql.Literal(f"{settings.schema_name}.follow_up_candidacy_items"),
                sql.Identifier(settings.schema_name, "follow_up_candidacy_items"),
            )
        ).fetchone()
    assert counted > 0 and estimated == counted  # ANALYZE counted them; never analyzed, it would say -1


def test_a_follower_that_caught_up_a_long_way_vacuums_and_analyzes_beside_its_work(
    workers, settings: Settings, monkeypatch
):
    monkeypatch.setattr(paging, "ANALYZE_AFTER_EVENTS", 1)  # as a catch-up of ANALYZE_AFTER_EVENTS would
    app = open_application(settings)
    try:
        candidacies, contacts = seed(app, candidacies=3)
        for candidacy in candidacies:
            app.record_interview(candidacy, datetime.now(UTC) - timedelta(days=1), contacts, by=ACTOR)
        (worker,) = workers(app, names=["follow_up_queue"])
        worker.start()
        assert worker.wait_for(app.recorder.max_notification_id(), timeout=30)
        table = sql.Identifier(settings.schema_name, "follow_up_candidacy_items")
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                vacuumed, estimated, counted = conn.execute(
                    sql.SQL("SELECT (SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relid = {}::regclass), "
                            "(SELECT reltuples FROM pg_class WHERE oid = {}::regclass), (SELECT count(*) FROM {})").format(
                        sql.Literal(f"{settings.schema_name}.follow_up_candidacy_items"),
                        sql.Literal(f"{settings.schema_name}.follow_up_candidacy_items"), table)
                ).fetchone()
                if vacuumed:
                    break
                time.sleep(0.2)
        assert vacuumed and counted > 0 and estimated == counted
        # And the follower goes on following.
        app.record_interview(candidacies[0], datetime.now(UTC) - timedelta(hours=1), contacts[:1], by=ACTOR)
        assert worker.wait_for(app.recorder.max_notification_id(), timeout=30)
    finally:
        app.close()
