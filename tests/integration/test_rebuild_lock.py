"""One rebuild of a read model at a time, and no build schema left behind by a killed one, on real PostgreSQL."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from domain.application import Actor, FollowupApplication
from domain.values import Role
from infra.eventstore import open_application
from infra.settings import Settings
from projections.rebuild import RebuildRunning, build_schema_prefix, rebuild_projection

ACTOR = Actor(uuid.UUID(int=11), "rebuild-lock")
NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


@pytest.fixture
def app(settings: Settings):
    application = open_application(settings, clock=lambda: NOW)
    recruiter = application.add_recruiter("Dana", Role.RECRUITER, "ICU", by=ACTOR).result
    contact = application.add_contact("Vera", "Mercy", by=ACTOR).id
    candidate = application.register_candidate("Quinn", owner_id=recruiter.id, by=ACTOR).id
    candidacy = application.open_candidacy(candidate, "Mercy", "RN", by=ACTOR).id
    application.record_interview(candidacy, NOW - timedelta(days=2), [contact], by=ACTOR)
    yield application
    application.close()


def schemas_starting_with(settings: Settings, prefix: str) -> list[str]:
    with psycopg.connect(settings.database_url) as conn:
        return [row[0] for row in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s) ORDER BY nspname", (prefix,))]


def item_count(settings: Settings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(settings.schema_name, "follow_up_items"))).fetchone()[0]


def rebuild_in_the_background(app: FollowupApplication, name: str) -> tuple[threading.Thread, threading.Event, list]:
    """A rebuild that stops after its first page, until `go_on` is set."""
    building, go_on, outcome = threading.Event(), threading.Event(), []

    def progress(done: int, head: int) -> None:
        building.set()
        go_on.wait(30)

    def run() -> None:
        try:
            outcome.append(rebuild_projection(name, app, progress=progress))
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    assert building.wait(30), "the rebuild did not start"
    return thread, go_on, outcome


def test_a_second_rebuild_of_a_read_model_is_refused_while_one_runs(app: FollowupApplication, settings: Settings):
    thread, go_on, outcome = rebuild_in_the_background(app, "follow_up_queue")
    try:
        with pytest.raises(RebuildRunning, match="follow_up_queue"):
            rebuild_projection("follow_up_queue", app, wait=False)
        env = {**os.environ, "DATABASE_URL": settings.database_url, "FOLLOWUP_SCHEMA": settings.schema_name}
        cli = subprocess.run([sys.executable, "-m", "api.cli", "projections", "rebuild", "follow_up_queue"],
                             env=env, capture_output=True, text=True, timeout=120)
        assert cli.returncode == 1, cli.stdout + cli.stderr
        assert "a rebuild of follow_up_queue is already running" in cli.stderr
        # Another read model's rebuild is not held up.
        assert rebuild_projection("audit", app, wait=False) > 0
    finally:
        go_on.set()
        thread.join(60)
    assert outcome and not isinstance(outcome[0], BaseException), outcome
    assert item_count(settings) > 0
    # Once it has ended, the next one runs; waiting is the default.
    assert rebuild_projection("follow_up_queue", app, wait=False) == outcome[0]


def test_a_rebuild_drops_the_build_schema_a_killed_rebuild_left_and_no_other(app: FollowupApplication,
                                                                            settings: Settings):
    ours = build_schema_prefix(settings.schema_name, "follow_up_queue")
    other_deployment = build_schema_prefix(f"{settings.schema_name}_other", "follow_up_queue") + "0badc0de"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(other_deployment)))
    script = (
        "import sys, time\n"
        "from infra.eventstore import open_application\n"
        "from projections.rebuild import rebuild_projection\n"
        "def progress(done, head):\n"
        "    print('building', flush=True)\n"
        "    time.sleep(600)\n"
        "rebuild_projection('follow_up_queue', open_application(), progress=progress)\n"
    )
    env = {**os.environ, "DATABASE_URL": settings.database_url, "FOLLOWUP_SCHEMA": settings.schema_name}
    process = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready and process.stdout.readline().strip() == "building"
        (left,) = schemas_starting_with(settings, ours)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        assert schemas_starting_with(settings, ours) == [left]

        # The killed rebuild's lock went with its connection: the next one runs, and drops what it left.
        assert rebuild_projection("follow_up_queue", app, wait=False) > 0
        assert schemas_starting_with(settings, ours) == []
        assert schemas_starting_with(settings, other_deployment) == [other_deployment]
        assert item_count(settings) > 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(other_deployment)))
            for schema in schemas_starting_with(settings, ours):
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
